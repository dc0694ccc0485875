// The whole-model view on a real checkpoint in headless Chromium: the time from "Allocate" to the
// first measured tensor's row and to the allocation, under the default candidates, in a fresh tab
// per run. `node scripts/bench/model.mjs CHECKPOINT.safetensors [--shards K] [--runs N]`: with
// --shards the checkpoint is first split into K shards and a model.safetensors.index.json (as
// Hugging Face writes them), and the page opens those. Needs dist/ (trunk build --release).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import { serve } from "../../tests/e2e/server.mjs";
import { launch } from "../../tests/e2e/browser.mjs";
import { Quantscope } from "../../tests/e2e/page.mjs";

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const checkpoint = args.find((a) => a.endsWith(".safetensors"));
if (!checkpoint) {
  console.error("usage: node scripts/bench/model.mjs CHECKPOINT.safetensors [--shards K] [--runs N]");
  process.exit(2);
}
const shards = flag("--shards", 0);
const runs = flag("--runs", 3);

/** Splits a safetensors file into `k` shards of consecutive tensors and writes their index. */
function split(path, k) {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  delete header.__metadata__;
  const names = Object.keys(header).sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const dir = mkdtempSync(join(tmpdir(), "quantscope-shards-"));
  const weightMap = {};
  const files = [];
  for (let s = 0; s < k; s++) {
    const part = names.slice(Math.floor((s * names.length) / k), Math.floor(((s + 1) * names.length) / k));
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(k).padStart(5, "0")}.safetensors`;
    const meta = {};
    const chunks = [];
    let offset = 0;
    for (const name of part) {
      const [a, b] = header[name].data_offsets;
      meta[name] = { ...header[name], data_offsets: [offset, offset + b - a] };
      chunks.push(bytes.subarray(8 + n + a, 8 + n + b));
      offset += b - a;
      weightMap[name] = file;
    }
    let json = JSON.stringify(meta);
    while (json.length % 8 !== 0) json += " ";
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeFileSync(join(dir, file), Buffer.concat([len, Buffer.from(json), ...chunks]));
    files.push(join(dir, file));
  }
  const index = join(dir, "model.safetensors.index.json");
  writeFileSync(index, JSON.stringify({ metadata: { total_size: bytes.length - 8 - n }, weight_map: weightMap }));
  return [...files, index];
}

const files = shards > 0 ? split(checkpoint, shards) : [checkpoint];
let commit = "";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
} catch {
  // not a checkout
}
console.log(`# whole model: ${basename(checkpoint)}${shards ? ` in ${shards} shards` : ""}, default candidates; commit ${commit}; ${new Date().toISOString()}`);
const server = await serve("dist");
const context = await launch();
for (let run = 0; run < runs; run++) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  const app = new Quantscope(page, server.url);
  await app.open();
  await app.id("file-input").setInputFiles(files);
  await app.id("model-run").waitFor({ timeout: 60000 });
  const t0 = Date.now();
  await app.id("model-run").click();
  await app.until(async () => /read by the allocation/.test(await app.text("model-tensors-summary")), "a first row", 60000);
  const first = Date.now() - t0;
  await app.until(async () => (await app.id("model-total").count()) > 0, "the allocation", 120000);
  const all = Date.now() - t0;
  const summary = await app.text("model-tensors-summary");
  console.log(`run ${run + 1}: first row ${first} ms, allocation ${all} ms — ${summary}`);
  await page.close();
}
await context.close();
await server.close();
