// Browser end-to-end tests of the built app (dist/) in Debian's headless Chromium.
// Run by scripts/test.sh: `node --test tests/e2e/`. Needs QUANTSCOPE_BIN (the CLI) to compare
// the page's numbers with the core's.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { serve } from "./server.mjs";
import { launch } from "./browser.mjs";
import { npyF32, readNpyF32, safetensorsF32, values } from "./fixtures.mjs";
import { CLI, Quantscope, assertSameMetrics, cli, close, closeSqnr } from "./page.mjs";
const work = mkdtempSync(join(tmpdir(), "quantscope-e2e-"));

let server;
let context;

before(async () => {
  server = await serve("dist");
  context = await launch();
});

after(async () => {
  await context?.close();
  await server?.close();
});

/** The page as it opens (outliers at 4 bits: see the first test). */
async function openingPage() {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  const app = new Quantscope(page, server.url);
  await app.open();
  return app;
}

/** The page on plain data: normal values at 8 bits (the CLI's default settings). */
async function freshPage() {
  const app = await openingPage();
  await app.select("dist-select", "normal");
  await app.set("bits", 8);
  await app.until(async () => (await app.text("data-name")).includes("synthetic normal"), "normal data");
  await app.until(async () => (await app.text("metric-levels-available")) === "256", "8 bits");
  return app;
}

describe("Quantscope in the browser", () => {
  test("opens on a view that shows something going wrong, with a strict CSP and no request to another origin", async () => {
    const app = await openingPage();
    // A 128 × 1024 matrix with 8 outliers at ±20σ, at 4 bits min–max: the CLI's figures on the
    // same values, a low SQNR, few of the 16 levels used, and a note that says why.
    await app.until(async () => (await app.text("data-shape")) === "128 × 1024", "the opening data");
    const file = join(work, "opening.npy");
    execFileSync(CLI, ["synth", "outliers", "--n", "131072", "--cols", "1024", "--out", file]);
    const core = cli(file, ["--bits", "4"]);
    await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 1e-6, "the opening view");
    assertSameMetrics(await app.metrics(), core, "opening view");
    assert.ok(core.sqnr_db < 6, `the outliers ruin 4 bits: ${core.sqnr_db} dB`);
    assert.ok(core.levels_used < 8, `few levels used: ${core.levels_used}`);
    assert.match(await app.text("opening-note"), /±20σ/);
    assert.equal(await app.text("bits"), "4");
    // Per channel the rows without outliers get their own range: far better, and the note goes.
    await app.select("granularity", "channel");
    const channel = cli(file, ["--bits", "4", "--granularity", "channel", "--axis", "0"]);
    await app.until(async () => Math.abs((await app.number("metric-mse")) - channel.mse) <= channel.mse * 1e-6, "per channel");
    assert.ok(channel.sqnr_db > core.sqnr_db + 10, `${channel.sqnr_db} vs ${core.sqnr_db}`);
    assert.equal(await app.id("opening-note").count(), 0);
    const csp = await app.page.$eval('meta[http-equiv="Content-Security-Policy"]', (e) => e.content);
    assert.match(csp, /default-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const inline = await app.page.$$eval("script:not([src])", (s) => s.length);
    assert.equal(inline, 0, "no inline script");
    // Exercise the page (file read, sample fetch) before checking the requests.
    await app.id("source-file").click();
    await app.select("sample-select", "minilm-l0-ffn-output.npy");
    await app.until(async () => (await app.text("data-shape")) === "384 × 1536", "sample weights");
    assert.deepEqual(app.foreignRequests, []);
    assert.ok(server.requests.some((p) => p.endsWith(".wasm")));
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("switching the distribution, bits and clipping updates the view", async () => {
    const app = await freshPage();
    const before8 = await app.metrics();
    await app.select("dist-select", "student-t");
    await app.until(async () => (await app.text("data-name")).includes("student-t"), "student-t data");
    await app.set("bits", 4);
    await app.until(async () => (await app.number("metric-levels")) <= 16, "4-bit levels");
    const m4 = await app.metrics();
    assert.ok(m4.sqnr_db < before8.sqnr_db - 10, `4 bits must lose SQNR: ${m4.sqnr_db} vs ${before8.sqnr_db}`);
    assert.equal(m4.clipped_fraction, 0, "min-max clips nothing");

    // Under min–max the range is shown, not editable; "manual" makes the bounds fields.
    assert.equal(await app.page.locator('input[data-testid="clip-hi"]').count(), 0, "no clip field under min–max");
    assert.ok((await app.number("clip-hi")) > 0, "the calibrated β is shown");
    await app.select("calibration", "manual");
    await app.until(async () => (await app.page.locator('input[data-testid="clip-hi"]').count()) === 1, "manual bounds fields");
    await app.set("clip-hi", 1.5);
    await app.set("clip-lo", -1.5);
    await app.until(async () => (await app.number("metric-clipped")) > 0, "clipping");
    assert.equal(await app.number("clip-hi"), 1.5);
    assert.equal(await app.number("clip-lo"), -1.5);

    await app.select("calibration", "percentile");
    await app.until(async () => app.id("percentile").isVisible(), "percentile field");
    await app.set("percentile", 99);
    await app.until(async () => {
      const c = await app.number("metric-clipped");
      return c > 0.005 && c < 0.03;
    }, "≈2 % clipped at p = 99 (asymmetric: 1 % each side)");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("synthetic data: the page's metrics equal the core's on the same values", async () => {
    const app = await freshPage();
    await app.select("dist-select", "laplace");
    await app.set("synth-n", 20000);
    await app.set("synth-seed", 5);
    await app.set("bits", 5);
    await app.select("calibration", "percentile");
    await app.set("percentile", 99.5);
    await app.until(async () => (await app.text("data-name")).includes("N = 20000, seed 5"), "synthetic settings");
    const file = join(work, "laplace.npy");
    execFileSync(CLI, ["synth", "laplace", "--n", "20000", "--seed", "5", "--out", file]);
    const flags = ["--bits", "5", "--calibration", "percentile", "--percentile", "99.5"];
    await app.until(async () => Math.abs((await app.number("metric-mse")) - cli(file, flags).mse) <= cli(file, flags).mse * 2e-5, "settings applied");
    assertSameMetrics(await app.metrics(), cli(file, flags), "synthetic laplace, 5 bits, p99.5");
    for (const method of ["mse", "sqnr", "kl", "aciq"]) {
      await app.select("calibration", method);
      const core = cli(file, [...flags.slice(0, 2), "--calibration", method]);
      await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, `${method} applied`);
      assertSameMetrics(await app.metrics(), core, `synthetic laplace, 5 bits, ${method}`);
    }
    await app.page.close();
  });

  test("dragging a clipping edge on the histogram sets a manual range", async () => {
    const app = await freshPage();
    const hi0 = await app.number("clip-hi");
    await app.id("histogram").scrollIntoViewIfNeeded();
    const box = await app.id("histogram").boundingBox();
    // Find the hi edge: the pixel of hi0 in the plotting area, scanning for the grab cursor.
    let edgeX = null;
    for (let x = box.x + box.width - 1; x > box.x + box.width / 2; x -= 2) {
      await app.page.mouse.move(x, box.y + box.height / 2);
      const cursor = await app.id("histogram").evaluate((c) => c.style.cursor);
      if (cursor === "ew-resize") {
        edgeX = x;
        break;
      }
    }
    assert.ok(edgeX !== null, "the hi edge can be grabbed");
    await app.page.mouse.down();
    await app.page.mouse.move(edgeX - box.width / 4, box.y + box.height / 2, { steps: 5 });
    await app.page.mouse.up();
    await app.until(async () => (await app.id("calibration").inputValue()) === "manual", "manual after drag");
    const hi1 = await app.number("clip-hi");
    assert.ok(hi1 < hi0 * 0.8, `dragged left: ${hi1} < ${hi0}`);
    assert.ok((await app.number("metric-clipped")) > 0);
    await app.page.close();
  });

  test("hovering the charts reads out the value, its bin's counts, its code, and a point's name", async () => {
    const app = await freshPage();
    await app.set("bits", 3);
    await app.until(async () => (await app.text("metric-levels-available")) === "8", "3 bits");
    const hover = async (testid, fx, fy = 0.5) => {
      await app.id(testid).scrollIntoViewIfNeeded();
      const box = await app.id(testid).boundingBox();
      await app.page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
    };
    await hover("histogram", 0.5);
    await app.until(async () => (await app.text("histogram-readout")).startsWith("value"), "histogram readout");
    const h = await app.text("histogram-readout");
    assert.match(h, /→ code -?\d+, r̂ = .*; bin \[.*\): [\d,]+ input values, [\d,]+ reconstructions/);
    await hover("transfer", 0.5);
    await app.until(async () => (await app.text("transfer-readout")).startsWith("r = "), "transfer readout");
    assert.match(await app.text("transfer-readout"), /^r = .* → code -?\d+, r̂ = /);
    // The Pareto chart: scan until a point is under the pointer; its readout names a format.
    let named = null;
    for (let fx = 0.1; fx < 0.95 && !named; fx += 0.01) {
      for (const fy of [0.2, 0.35, 0.5, 0.65, 0.8]) {
        await hover("pareto-chart", fx, fy);
        const t = await app.text("pareto-readout");
        if (t.includes("bits per value, SQNR")) {
          named = t;
          break;
        }
      }
    }
    assert.ok(named, "a point under the pointer is named");
    assert.match(named, /^.+: [\d.]+ bits per value, SQNR -?[\d.]+ dB$/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("each file type loads, and the shown metrics equal the core's", async () => {
    const app = await freshPage();
    const v = values(4096, 7);
    const npy = npyF32([64, 64], v);
    const npyPath = join(work, "w.npy");
    writeFileSync(npyPath, npy);
    await app.upload("w.npy", npy);
    await app.until(async () => (await app.text("data-shape")) === "64 × 64", ".npy loaded");
    assertSameMetrics(await app.metrics(), cli(npyPath), "npy int8 per-tensor");

    // symmetric 4-bit per-channel, axis 1
    await app.set("bits", 4);
    await app.select("scheme", "symmetric");
    await app.select("granularity", "channel");
    await app.until(async () => app.id("axis").isVisible(), "axis select");
    await app.select("axis", "1");
    const flags = ["--bits", "4", "--symmetric", "--granularity", "channel", "--axis", "1"];
    await app.until(async () => {
      const core = cli(npyPath, flags);
      return Math.abs((await app.number("metric-bpv")) - core.bits_per_value) < 1e-4;
    }, "per-channel settings applied");
    assertSameMetrics(await app.metrics(), cli(npyPath, flags), "npy int4 symmetric per-channel");

    // per-group 16 along the last axis, unsigned
    await app.select("granularity", "group");
    await app.set("group-size", 16);
    await app.select("signedness", "unsigned");
    const gflags = ["--bits", "4", "--symmetric", "--unsigned", "--granularity", "group", "--group-size", "16"];
    await app.until(async () => Math.abs((await app.number("metric-bpv")) - cli(npyPath, gflags).bits_per_value) < 1e-4, "group settings");
    assertSameMetrics(await app.metrics(), cli(npyPath, gflags), "npy int4 per-group");

    // CSV (matrix) and TXT (whitespace/newlines)
    const csv = Buffer.from("1.5, -2, 3\n4, 5.25, -6\n");
    writeFileSync(join(work, "m.csv"), csv);
    await app.upload("m.csv", csv);
    await app.until(async () => (await app.text("data-shape")) === "2 × 3", "csv loaded");
    await app.until(async () => (await app.text("metric-bpv")) !== "", "metrics for csv");
    const txt = Buffer.from("0.1 0.2\n0.3\n-0.4\n");
    await app.upload("t.txt", txt);
    await app.until(async () => (await app.text("data-shape")) === "4", "txt loaded");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("safetensors: the picker lists tensors, names render as text, picking one loads it", async () => {
    const app = await freshPage();
    const payload = '<img src=x onerror="window.__pwned=1">';
    const st = safetensorsF32([
      { name: payload, shape: [8, 16], values: values(128, 3) },
      { name: "encoder.weight", shape: [32, 4], values: values(128, 5, 2) },
    ]);
    const stPath = join(work, "m.safetensors");
    writeFileSync(stPath, st);
    await app.upload("m.safetensors", st);
    await app.until(async () => (await app.text("data-shape")) === "8 × 16", "first tensor");
    const options = await app.id("tensor-select").locator("option").allTextContents();
    assert.equal(options.length, 2);
    assert.ok(options[0].startsWith(payload), `the name is shown literally: ${options[0]}`);
    assert.equal(await app.text("data-name"), payload);
    assert.equal(await app.page.evaluate(() => document.querySelectorAll("img").length), 0);
    assert.equal(await app.page.evaluate(() => window.__pwned), undefined);

    await app.select("tensor-select", "encoder.weight");
    await app.until(async () => (await app.text("data-shape")) === "32 × 4", "second tensor");
    assertSameMetrics(await app.metrics(), cli(stPath, ["--tensor", "encoder.weight"]), "safetensors tensor");
    await app.page.close();
  });

  test("a 1.5 GB safetensors file opens header first; its huge tensor is refused, the small one shown", async () => {
    const app = await freshPage();
    // A sparse file: a small F32 tensor, then 1.5 GB of BF16 zeros that are never written to disk.
    const big = 768 * 1024 * 1024; // BF16 elements
    const header = JSON.stringify({
      small: { dtype: "F32", shape: [2, 4], data_offsets: [0, 32] },
      huge: { dtype: "BF16", shape: [big], data_offsets: [32, 32 + 2 * big] },
    });
    const padded = header + " ".repeat((8 - (header.length % 8)) % 8);
    const head = Buffer.alloc(8 + padded.length + 32);
    head.writeBigUInt64LE(BigInt(padded.length), 0);
    head.write(padded, 8, "utf8");
    Float32Array.from([1, -2, 3, -4, 5, -6, 7, -8]).forEach((v, i) => head.writeFloatLE(v, 8 + padded.length + 4 * i));
    const path = join(work, "big.safetensors");
    writeFileSync(path, head);
    const { truncateSync } = await import("node:fs");
    truncateSync(path, head.length + 2 * big);
    const t0 = Date.now();
    await app.id("file-input").setInputFiles(path);
    await app.until(async () => (await app.text("data-shape")) === "2 × 4", "small tensor shown", 20000);
    const opened = Date.now() - t0;
    assert.ok(opened < 10000, `opened in ${opened} ms without reading 1.5 GB`);
    assert.equal(await app.number("metric-levels"), 8);
    await app.select("tensor-select", "huge");
    await app.until(async () => (await app.text("error-banner")).includes("use the quantscope CLI"), "huge tensor refused");
    assert.equal(await app.text("data-shape"), "2 × 4", "the previous tensor stays");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("a malformed file shows error-banner and the previous view stays", async () => {
    const app = await freshPage();
    const good = npyF32([10, 10], values(100, 9));
    await app.upload("good.npy", good);
    await app.until(async () => (await app.text("data-shape")) === "10 × 10", "good file");
    const before = { name: await app.text("data-name"), mse: await app.text("metric-mse") };

    const bad = [
      ["broken.npy", Buffer.from("\x93NUMPY\x01\x00\x40\x00{'descr': '<f4'", "latin1"), "broken.npy"],
      ["broken.safetensors", Buffer.from("\xff\x00\x00\x00\x00\x00\x00\x00{", "latin1"), "broken.safetensors"],
      ["words.csv", Buffer.from("1, 2, three\n"), "three"],
      ["empty.csv", Buffer.alloc(0), "empty"],
      ["nans.csv", Buffer.from("nan, inf, -inf"), "no finite values"],
      ["weights.bin", Buffer.from([1, 2, 3]), "unsupported file type"],
    ];
    for (const [name, bytes, expected] of bad) {
      await app.upload(name, bytes);
      await app.until(async () => (await app.id("error-banner").isVisible()) && (await app.text("error-banner")).includes(expected), `banner for ${name}`);
      assert.ok((await app.text("error-banner")).includes(name), `banner names ${name}`);
      // The message is also next to what caused it: the file picker.
      assert.ok((await app.text("error-banner")).startsWith(await app.text("file-input-error")));
      assert.equal(await app.text("data-name"), before.name, "old data stays");
      assert.equal(await app.text("metric-mse"), before.mse, "old metrics stay");
    }
    // A bad setting is refused the same way, and the old value comes back.
    await app.select("granularity", "group");
    const g0 = await app.id("group-size").inputValue();
    await app.set("group-size", 7);
    await app.until(async () => (await app.text("error-banner")).includes("does not divide"), "group-size error");
    assert.equal(await app.id("group-size").inputValue(), g0);
    assert.match(await app.text("group-size-error"), /does not divide/);
    assert.equal(await app.id("file-input-error").count(), 0, "only beside the control that caused it");
    await app.set("bits", 99);
    await app.until(async () => (await app.text("error-banner")).includes("bit width"), "bits error");
    assert.equal(await app.id("bits").inputValue(), "8");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("NaN and Inf are counted and left out; a constant tensor works", async () => {
    const app = await freshPage();
    const csv = Buffer.from("1, nan, -2, inf, 0.5, -inf, 3\n");
    const path = join(work, "nonfinite.csv");
    writeFileSync(path, csv);
    await app.upload("nonfinite.csv", csv);
    await app.until(async () => (await app.text("nonfinite-count")).startsWith("1 / 2"), "non-finite counts");
    assertSameMetrics(await app.metrics(), cli(path), "non-finite csv");
    const core = cli(path);
    assert.equal(core.nan_count, 1);
    assert.equal(core.inf_count, 2);
    assert.equal(core.n, 4);

    await app.upload("constant.csv", Buffer.from("2.5, 2.5, 2.5, 2.5"));
    await app.until(async () => (await app.text("data-shape")) === "4", "constant data");
    assert.ok((await app.number("metric-max-abs")) < 0.01);
    assert.equal(await app.number("metric-levels"), 1);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("odd values (subnormals, ±3.4e38) end in numbers and a note, never the panic report", async () => {
    const app = await freshPage();
    // Issue 17's files: these reached the panic hook and froze the page.
    const sub = npyF32([4], [0.0, 1e-41, 2.2e-41, 1.5e-41]);
    const subPath = join(work, "sub.npy");
    writeFileSync(subPath, sub);
    await app.upload("sub.npy", sub);
    await app.until(async () => (await app.text("data-name")).includes("sub.npy"), "subnormal file");
    assertSameMetrics(await app.metrics(), cli(subPath), "subnormals");
    await app.until(async () => (await app.text("analysis-notes")).includes("below the smallest scale"), "scale-floor note");

    const max = npyF32([1024], Array.from({ length: 1024 }, (_, i) => [3.4e38, -3.4e38, 1, 0][i % 4]));
    const maxPath = join(work, "max.npy");
    writeFileSync(maxPath, max);
    await app.upload("max.npy", max);
    await app.until(async () => (await app.text("data-name")).includes("max.npy"), "near-limit file");
    assertSameMetrics(await app.metrics(), cli(maxPath), "±3.4e38, int8");
    // fp16 cannot hold ±3.4e38: the page says so and reports the error as unbounded.
    await app.select("format", "fp16");
    await app.until(async () => (await app.text("metrics-measured")).includes("overflow"), "overflow count");
    assert.equal(await app.number("metric-mse"), Infinity);
    assert.equal(await app.number("metric-sqnr"), -Infinity);
    assert.match(await app.text("analysis-notes"), /512 of 1024 values overflow/);
    assert.equal(cli(maxPath, ["--format", "fp16"]).overflowed, 512);
    assert.equal(await app.page.$eval("#panic-report", (e) => e.hidden), true, "the panic report stays hidden");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("axis and group size show only where they apply; synthetic settings take the source back from a file", async () => {
    const app = await freshPage();
    await app.upload("w.npy", npyF32([8, 32], values(256, 11)));
    await app.until(async () => (await app.text("data-shape")) === "8 × 32", "file loaded");
    // Per tensor neither the axis nor the group size means anything: neither is shown.
    assert.equal(await app.id("axis").count(), 0);
    assert.equal(await app.id("group-size").count(), 0);
    await app.select("granularity", "group");
    await app.until(async () => (await app.id("group-size").count()) === 1, "group size shown");
    assert.equal(await app.id("axis").count(), 0);
    await app.set("group-size", 16);
    // 16 groups of 16: 8 + 16·40/256 = 10.5 bits per value (f32 scale + 8-bit zero-point each)
    await app.until(async () => (await app.number("metric-bpv")) === 10.5, "per-group bits per value");
    // The histogram is group #0's own 16 values, and says so.
    assert.match(await app.text("histogram-shown"), /Showing group #0 of 16: its 16 values/);
    await app.select("granularity", "channel");
    await app.until(async () => (await app.id("axis").count()) === 1, "axis shown");
    assert.equal(await app.id("group-size").count(), 0);
    await app.select("axis", "1");
    await app.until(async () => (await app.text("axis")) === "1", "per-channel on axis 1");
    // 32 channels: 8 + 32·40/256 = 13
    await app.until(async () => (await app.number("metric-bpv")) === 13, "per-channel bits per value");
    // The file is the source: its name is shown by the picker, the synthetic settings are not.
    assert.equal(await app.text("file-open"), "Open: w.npy");
    assert.equal(await app.id("source-file").getAttribute("aria-selected"), "true");
    assert.ok(!(await app.id("synth-n").isVisible()), "synthetic settings hidden under a file");
    // The synthetic tab takes the source back; per channel on axis 1 fits its 128 × 1024 matrix.
    await app.id("source-synthetic").click();
    await app.until(async () => (await app.text("data-name")).startsWith("synthetic"), "synthetic again");
    assert.ok(await app.id("synth-n").isVisible());
    assert.ok(!(await app.id("file-input").isVisible()), "the file picker is hidden");
    assert.equal(await app.id("granularity").inputValue(), "channel");
    // One row of N values has no channels on axis 1: per tensor, and a notice says so.
    await app.set("synth-cols", 1);
    await app.until(async () => (await app.text("data-shape")) === "131072", "one row");
    assert.equal(await app.id("granularity").inputValue(), "tensor", "1-D synthetic data falls back to per-tensor");
    assert.match(await app.text("notice"), /per-tensor/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("formats: presets, NF4, k-means and GGML blocks give the core's numbers; bits are inspected", async () => {
    const app = await freshPage();
    const npy = npyF32([64, 64], values(4096, 11));
    const npyPath = join(work, "formats.npy");
    writeFileSync(npyPath, npy);
    await app.upload("formats.npy", npy);
    await app.until(async () => (await app.text("data-shape")) === "64 × 64", "file loaded");

    await app.select("preset", "mxfp4");
    await app.until(async () => (await app.text("format")) === "fp4-e2m1", "preset applied");
    assert.equal(await app.text("scale-format"), "e8m0");
    await app.until(async () => (await app.number("metric-bpv")) === 4.25, "MXFP4 bits per value");
    assertSameMetrics(await app.metrics(), cli(npyPath, ["--preset", "mxfp4"]), "mxfp4");

    // NF4 keeps the blocks of 32; its levels are the 16 NormalFloat values.
    await app.select("format", "nf4");
    await app.select("scale-format", "f32");
    const nf4 = ["--format", "nf4", "--granularity", "group", "--group-size", "32"];
    await app.until(async () => Math.abs((await app.number("metric-bpv")) - 5) < 1e-9, "nf4 applied");
    assertSameMetrics(await app.metrics(), cli(npyPath, nf4), "nf4 g32");
    assert.match(await app.text("format-description"), /NormalFloat/);

    // Exact 1-D k-means with 4 levels: the same codebook as the CLI.
    await app.select("format", "kmeans");
    await app.set("levels", 4);
    const km = ["--format", "kmeans", "--levels", "4", "--granularity", "group", "--group-size", "32"];
    await app.until(async () => (await app.text("metric-levels")) !== "" && Math.abs((await app.number("metric-bpv")) - cli(npyPath, km).bits_per_value) < 1e-9, "k-means applied");
    assert.ok((await app.number("metric-levels")) <= 4);
    assertSameMetrics(await app.metrics(), cli(npyPath, km), "kmeans K=4 per group");

    // BitNet b1.58's ternary, a family of its own: −1, 0, +1 times each group's mean |w|.
    await app.select("format", "ternary");
    const tern = ["--format", "ternary", "--granularity", "group", "--group-size", "32"];
    const ternCli = cli(npyPath, tern);
    // Bits per value log2 3 + 32/32 = 2.585 are shown to 5 significant digits.
    await app.until(async () => Math.abs((await app.number("metric-bpv")) - ternCli.bits_per_value) < 2e-5 * ternCli.bits_per_value, "ternary applied");
    assertSameMetrics(await app.metrics(), ternCli, "ternary g32");
    assert.ok((await app.number("metric-levels")) <= 3);

    // GGML Q4_0: fixed blocks of 32, 4.5 bits per value; the granularity knob goes away.
    await app.select("format", "q4_0");
    await app.until(async () => (await app.number("metric-bpv")) === 4.5, "q4_0 applied");
    assert.equal(await app.id("granularity").count(), 0);
    assertSameMetrics(await app.metrics(), cli(npyPath, ["--format", "q4_0"]), "q4_0");

    // The bit inspector: FP8 E4M3 has 1 + 4 + 3 bits, the source f32 1 + 8 + 23.
    await app.select("format", "fp8-e4m3");
    await app.set("probe", 0.25);
    await app.until(async () => (await app.text("bits-target")).replace(/\s/g, "").length === 8, "8 target bits");
    assert.equal((await app.text("bits-source")).replace(/\s/g, ""), "00111110100000000000000000000000");
    const spans = await app.id("bits-target").locator("span").count();
    assert.equal(spans, 3, "sign, exponent and mantissa are separate");
    assert.match(await app.text("bits-summary"), /stored code/);
    // Clicking the histogram away from the range edges inspects the value under the pointer.
    await app.select("granularity", "tensor");
    const box = await app.id("histogram").boundingBox();
    await app.id("histogram").click({ position: { x: box.width * 0.4, y: box.height / 2 } });
    await app.until(async () => (await app.text("probe")) !== "0.25", "a value picked on the histogram");
    assert.notEqual((await app.text("bits-source")).replace(/\s/g, ""), "00111110100000000000000000000000");
    assert.equal(await app.text("calibration"), "minmax", "a click is not a drag");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("GGUF: a file of llama.cpp's writer opens header first, its tensors are read as llama.cpp reads them, an unreadable type is refused by name; K-quants equal the CLI", async () => {
    const app = await freshPage();
    const gguf = readFileSync("crates/quant/tests/golden/gguf-py.gguf");
    const ggufPath = join(work, "model.gguf");
    writeFileSync(ggufPath, gguf);
    await app.upload("model.gguf", gguf);
    // The first readable tensor (f32 2 × 3) is shown; the picker lists every tensor by type.
    await app.until(async () => (await app.text("data-shape")) === "2 × 3", "first tensor");
    const options = await app.id("tensor-select").locator("option").allTextContents();
    assert.equal(options.length, 10);
    assert.ok(options.some((o) => o.startsWith("blk.0.ffn_down.weight — Q4_K [2 × 256]")), options.join(" | "));
    const iq2 = app.id("tensor-select").locator('option[value="iq2_xxs"]');
    assert.equal(await iq2.getAttribute("disabled"), "", "an unreadable type cannot be picked");
    const description = await app.text("file-description");
    assert.match(description, /llama/);
    assert.match(description, /MOSTLY_Q4_K_M/);
    // A Q4_K tensor, dequantized as llama.cpp does, quantized again: the CLI's figures.
    await app.select("tensor-select", "blk.0.ffn_down.weight");
    await app.until(async () => (await app.text("data-shape")) === "2 × 256", "the Q4_K tensor");
    assertSameMetrics(await app.metrics(), cli(ggufPath, ["--tensor", "blk.0.ffn_down.weight"]), "gguf tensor, int8");
    // llama.cpp's own types as formats, on the Q6_K tensor: Q4_K at 4.5 bits, IQ4_XS at 4.25,
    // Q3_K at 3.4375 (Q6_K again would give its values back exactly).
    await app.select("tensor-select", "output.weight");
    await app.until(async () => (await app.text("data-name")) === "output.weight", "the Q6_K tensor");
    for (const [format, bpv] of [["q4_k", 4.5], ["iq4_xs", 4.25], ["q3_k", 3.4375]]) {
      await app.select("format", format);
      await app.until(async () => (await app.number("metric-bpv")) === bpv, `${format} applied`);
      assertSameMetrics(await app.metrics(), cli(ggufPath, ["--tensor", "output.weight", "--format", format]), format);
      assert.match(await app.text("formulas"), /super-blocks of 256/);
      if (format === "q4_k") {
        // The bit inspector shows the stored scales: the super-block's f16 d and dmin, the
        // sub-block's 6-bit scale and min.
        await app.set("probe", 0.01);
        await app.until(async () => (await app.id("bits-stored").count()) === 4, "four stored fields");
        const stored = await app.id("bits-stored").allTextContents();
        assert.match(stored.join(" | "), /stored d \(f16\).*stored dmin \(f16\).*stored sc_0.*stored m_0/);
        assert.match(await app.text("bits-summary"), /\(r − o\) \/ S/);
      }
    }
    // A tensor whose rows are not whole super-blocks: the page says why and falls back to int.
    await app.select("tensor-select", "blk.0.attn_q.weight");
    await app.until(async () => (await app.text("data-shape")) === "4 × 128", "a 4 × 128 tensor");
    await app.until(async () => /Q3_K codes rows in blocks of 256 values: 256 does not divide the last axis \(128\)\); switched to per-tensor int/.test(await app.text("notice")), "the reason shown");
    assert.equal(await app.text("format"), "int");
    // Q4_0's blocks of 32 fit it — and give llama.cpp's Q4_0 values back exactly, as the CLI does.
    await app.select("format", "q4_0");
    await app.until(async () => (await app.number("metric-bpv")) === 4.5, "q4_0 applied");
    const again = cli(ggufPath, ["--tensor", "blk.0.attn_q.weight", "--format", "q4_0"]);
    assert.equal(again.mse, 0);
    assert.equal(await app.number("metric-mse"), 0);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("what did this quant do: the open file against its GGUF copy, every pair equal to the CLI's diff", async () => {
    const app = await freshPage();
    // The original (two tensors) and a copy of one of them quantized by the CLI as Q4_K.
    const a = values(2 * 512, 21, 0.05);
    const st = safetensorsF32([
      { name: "w", shape: [2, 512], values: a },
      { name: "bias", shape: [4], values: values(4, 2) },
    ]);
    const dir = mkdtempSync(join(work, "diff-"));
    writeFileSync(join(dir, "model.safetensors"), st);
    execFileSync(CLI, ["export", "model.safetensors", "--tensor", "w", "--format", "q4_k", "--out", "w-q4_k.gguf"], { cwd: dir });
    const cliDiff = JSON.parse(execFileSync(CLI, ["diff", "model.safetensors", "w-q4_k.gguf", "--json"], { cwd: dir, encoding: "utf8" }));
    await app.upload("model.safetensors", st);
    await app.until(async () => (await app.text("data-shape")) === "2 × 512", "the original");
    await app.id("diff-input").setInputFiles(join(dir, "w-q4_k.gguf"));
    await app.until(async () => (await app.id("diff-table").locator("tbody tr").count()) === 1, "one pair");
    const row = app.id("diff-table").locator('tbody tr[data-original="w"]');
    const want = cliDiff.tensors[0];
    assert.equal(await row.locator('td[data-col="type"]').textContent(), "Q4_K");
    assert.equal(Number(await row.locator('td[data-col="bpv"]').textContent()), want.bits_per_value);
    close(Number(await row.locator('td[data-col="mse"]').textContent()), want.mse, "diff mse");
    close(Number(await row.locator('td[data-col="sqnr"]').textContent()), want.sqnr_db, "diff sqnr");
    assert.deepEqual(cliDiff.unmatched_original, ["bias"]);
    assert.match(await app.text("diff-unmatched"), /only in the original: bias/);
    assert.match(await app.text("diff-status"), /1 pair compared; 1 of the original's tensors/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("layer lab: MiniLM's layer with real activations, every method equal to quantscope layer, a bad X refused beside it", async () => {
    const app = await openingPage();
    await app.id("lab-open").click();
    // The lab loads the shipped W into the explorer and X beside it.
    await app.until(async () => (await app.text("data-shape")) === "384 × 1536", "the sample weights", 30000);
    await app.select("scheme", "symmetric");
    await app.select("granularity", "channel");
    const value = async (method, col) =>
      Number(await app.page.locator(`[data-testid="lab-table"] tbody tr[data-method="${method}"] td[data-col="${col}"]`).getAttribute("data-value"));
    const W = "assets/samples/minilm-l0-ffn-output.npy";
    const X = "assets/samples/minilm-l0-ffn-input.npy";
    const layer = (args) =>
      JSON.parse(execFileSync(CLI, ["layer", W, "--activations", X, "--bits", "4", "--symmetric", "--granularity", "channel", "--json", ...args], { encoding: "utf8" }));
    const gptq = layer(["--method", "gptq"]);
    await app.until(async () => Math.abs((await value("gptq", "output-sqnr")) - gptq.output_sqnr_db) <= 1e-9 * Math.abs(gptq.output_sqnr_db), "GPTQ as the CLI computes it", 60000);
    for (const m of ["rtn", "awq"]) {
      const want = layer(["--method", m]);
      close(await value(m, "output-sqnr"), want.output_sqnr_db, `${m} output SQNR`);
      close(await value(m, "weight-sqnr"), want.weight_sqnr_db, `${m} weight SQNR`);
    }
    // One number, one truth: RTN's weight error is the Error panel's.
    const panel = await app.number("metric-sqnr");
    const rtnWeight = await value("rtn", "weight-sqnr");
    assert.ok(Math.abs(rtnWeight - panel) <= 0.01, `RTN weight SQNR ${rtnWeight} vs the Error panel's ${panel} (as shown)`);
    assert.match(await app.text("lab-gap"), /The output keeps [0-9.]+ dB more signal than the weights/);
    assert.ok(await app.inked("lab-act-chart"), "the activations chart is drawn");
    // A rotation: the weights as quantized lose their outlier, and the figures follow the CLI.
    await app.select("lab-rotate", "512");
    const rotated = layer(["--method", "rtn", "--rotate", "hadamard", "--rotate-block", "512"]);
    await app.until(async () => Math.abs((await value("rtn", "output-sqnr")) - rotated.output_sqnr_db) <= 1e-9 * Math.abs(rotated.output_sqnr_db), "rotated RTN", 60000);
    assert.match(await app.text("lab-spread"), /as quantized \(after the transform\): kurtosis/);
    // Held-out tokens, as the CLI's --holdout.
    await app.select("lab-holdout", "128");
    const held = layer(["--method", "gptq", "--rotate", "hadamard", "--rotate-block", "512", "--holdout", "128"]);
    await app.until(async () => Math.abs((await value("gptq", "output-sqnr")) - held.output_sqnr_db) <= 1e-9 * Math.abs(held.output_sqnr_db), "held-out GPTQ", 60000);
    assert.match(await app.id("lab-notes").textContent(), /measured on the last 128, held out/);
    // The importance the lab offers: each input's mean x² over X's tokens, as an .npy.
    const [d] = await Promise.all([app.page.waitForEvent("download"), app.id("lab-importance-download").click()]);
    assert.equal(d.suggestedFilename(), "mean-x2-minilm-l0-ffn-input.npy");
    const impPath = join(work, "mean-x2.npy");
    await d.saveAs(impPath);
    const imp = readNpyF32(readFileSync(impPath));
    const x = readNpyF32(readFileSync(X));
    assert.deepEqual(imp.shape, [1536]);
    const tokens = x.shape[0];
    for (let j = 0; j < 1536; j++) {
      let sum = 0;
      for (let t = 0; t < tokens; t++) sum += x.values[t * 1536 + j] ** 2;
      const want = sum / tokens;
      assert.ok(Math.abs(imp.values[j] - want) <= 1e-6 * want, `input ${j}: ${imp.values[j]} vs ${want}`);
    }
    // Weighting the whole model by it: a checkpoint of two 1536-input matrices, allocated as
    // quantscope allocate --importance with that file.
    await app.id("lab-importance-use").click();
    assert.equal(await app.text("lab-importance-status"), "mean-x2-minilm-l0-ffn-input.npy now weights the whole-model allocation (every matrix with 1536 inputs).");
    const dir = mkdtempSync(join(work, "lab-imp-"));
    const ckpt = safetensorsF32([
      { name: "blk.0.up.weight", shape: [32, 1536], values: values(32 * 1536, 71, 0.05) },
      { name: "blk.1.up.weight", shape: [16, 1536], values: values(16 * 1536, 72, 0.3) },
    ]);
    writeFileSync(join(dir, "m.safetensors"), ckpt);
    await app.upload("m.safetensors", ckpt);
    await app.id("model-run").waitFor();
    await app.id("model-run").click();
    await app.until(async () => (await app.text("model-total")).includes("(importance-weighted)"), "the weighted allocation", 60000);
    const weighted = JSON.parse(execFileSync(CLI, ["allocate", "m.safetensors", "--budget", "4.5", "--importance", impPath, "--json"], { cwd: dir, encoding: "utf8" }));
    assert.deepEqual(weighted.importance.weighted, ["blk.0.up.weight", "blk.1.up.weight"]);
    for (const a of weighted.assignment) {
      const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
      assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, `${a.name} weighted`);
      close(Number(await row.locator('td[data-col="mse"]').getAttribute("data-value")), a.mse, `${a.name} weighted mse`);
    }
    await app.id("lab-sample-w").click();
    await app.until(async () => (await app.text("data-shape")) === "384 × 1536", "the sample weights again", 30000);
    await app.until(async () => Math.abs((await value("gptq", "output-sqnr")) - held.output_sqnr_db) <= 1e-9 * Math.abs(held.output_sqnr_db), "held-out GPTQ again", 60000);
    // X with the wrong number of inputs: said beside the lab, the previous figures kept.
    const bad = join(work, "x-bad.npy");
    writeFileSync(bad, npyF32([4, 6], values(24, 3)));
    await app.id("lab-x-input").setInputFiles(bad);
    await app.until(async () => /Not measured: .*x-bad\.npy.*6 features per token but the weights take 1536 inputs/.test(await app.text("lab-status")), "the refusal", 30000);
    close(await value("gptq", "output-sqnr"), held.output_sqnr_db, "previous figures kept");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("whole model: a checkpoint's allocation under a budget equals quantscope allocate's, and a new budget follows", async () => {
    const app = await freshPage();
    const st = safetensorsF32([
      { name: "blk.0.a.weight", shape: [64, 128], values: values(64 * 128, 31, 0.05) },
      { name: "blk.0.b.weight", shape: [32, 256], values: values(32 * 256, 32, 0.2) },
      { name: "blk.1.c.weight", shape: [128, 64], values: values(128 * 64, 33, 1.0) },
      { name: "blk.0.a.bias", shape: [64], values: values(64, 34) },
    ]);
    const dir = mkdtempSync(join(work, "model-"));
    writeFileSync(join(dir, "m.safetensors"), st);
    await app.upload("m.safetensors", st);
    await app.id("model-run").waitFor();
    const rows = app.id("model-table").locator("tbody tr");
    for (const budget of [4.5, 3]) {
      const want = JSON.parse(execFileSync(CLI, ["allocate", "m.safetensors", "--budget", String(budget), "--json"], { cwd: dir, encoding: "utf8" }));
      if (budget === 4.5) {
        await app.id("model-run").click();
      } else {
        await app.set("model-budget", budget);
      }
      await app.until(async () => (await app.text("model-total")).includes(`(budget ${budget})`), `allocation at ${budget}`, 30000);
      assert.equal(await rows.count(), want.assignment.length);
      for (const a of want.assignment) {
        const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
        assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, `${a.name} at ${budget}`);
        close(Number(await row.locator('td[data-col="mse"]').getAttribute("data-value")), a.mse, `${a.name} mse`);
      }
      const shown = Number((await app.text("model-total")).match(/SQNR ([-0-9.]+) dB/)?.[1]);
      assert.ok(Math.abs(shown - want.total.sqnr_db) < 0.01, `total SQNR ${shown} vs ${want.total.sqnr_db}`);
      // The error by layer: one bar per block (0 and 1), each share equal to the CLI's.
      assert.deepEqual(want.layers.map((l) => l.layer), [0, 1]);
      const chart = app.id("model-layers-chart");
      const box = await chart.boundingBox();
      const seen = new Map();
      for (let f = 0.1; f < 1; f += 0.04) {
        await chart.hover({ position: { x: f * box.width, y: box.height / 2 } });
        const text = await app.text("model-layers-readout");
        const m = text.match(/^layer (\d+): .* ([0-9.e-]+) % of the total error$/);
        if (m) seen.set(Number(m[1]), Number(m[2]));
      }
      for (const l of want.layers) {
        const pct = seen.get(l.layer);
        assert.ok(pct !== undefined && Math.abs(pct - 100 * l.share) <= 0.006 * Math.max(1, 100 * l.share), `layer ${l.layer}: page ${pct} % vs CLI ${100 * l.share} %`);
      }
      assert.ok((await app.inked("model-layers-chart")) > 500, "the layer chart is drawn");
    }
    assert.match(await app.id("model-kept").textContent(), /blk\.0\.a\.bias — shape \[64\] is not 2-D/);
    // Importance weighting: a vector for blk.0.a.weight (its first inputs matter most); the
    // page's assignment and errors equal quantscope allocate --importance.
    const imp = safetensorsF32([{ name: "blk.0.a.weight", shape: [128], values: Array.from({ length: 128 }, (_, j) => 1 / (1 + j)) }]);
    writeFileSync(join(dir, "imp.safetensors"), imp);
    const weighted = JSON.parse(execFileSync(CLI, ["allocate", "m.safetensors", "--budget", "3", "--importance", "imp.safetensors", "--json"], { cwd: dir, encoding: "utf8" }));
    assert.deepEqual(weighted.importance.weighted, ["blk.0.a.weight"]);
    await app.id("model-importance").setInputFiles({ name: "imp.safetensors", mimeType: "application/octet-stream", buffer: imp });
    await app.until(async () => /importance for 1 of 3 tensors; no vector for blk\.0\.b\.weight, blk\.1\.c\.weight/.test(await app.text("model-importance-status")), "the importance status", 30000);
    assert.match(await app.text("model-total"), /\(importance-weighted\)/);
    for (const a of weighted.assignment) {
      const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
      assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, `${a.name} weighted`);
      close(Number(await row.locator('td[data-col="mse"]').getAttribute("data-value")), a.mse, `${a.name} weighted mse`);
    }
    // A vector of the wrong width is refused beside the view; the last allocation stays.
    const bad = safetensorsF32([{ name: "blk.0.a.weight", shape: [7], values: [1, 1, 1, 1, 1, 1, 1] }]);
    await app.id("model-importance").setInputFiles({ name: "bad.safetensors", mimeType: "application/octet-stream", buffer: bad });
    await app.until(async () => /the importance of blk\.0\.a\.weight has 7 entries, the tensor has 128 inputs/.test(await app.text("model-status")), "the bad vector's message");
    assert.match(await app.text("model-total"), /\(importance-weighted\)/);
    await app.id("model-importance-clear").click();
    await app.until(async () => !/importance-weighted/.test(await app.text("model-total")), "unweighted again", 30000);
    // A target size instead of bits per value: the same budget and assignment as --size.
    const sized = JSON.parse(execFileSync(CLI, ["allocate", "m.safetensors", "--size", "12kB", "--json"], { cwd: dir, encoding: "utf8" }));
    await app.select("model-budget-kind", "size");
    await app.set("model-size", "12kB");
    await app.until(async () => /Target 12 kB: about ([0-9.]+) kB of tensor data/.test(await app.text("model-total")), "the size's allocation", 30000);
    const est = Number((await app.text("model-total")).match(/about ([0-9.]+) kB/)[1]);
    assert.ok(Math.abs(est * 1000 - sized.size.estimated_bytes) <= 5.01, `estimate ${est} kB vs ${sized.size.estimated_bytes}`);
    assert.ok(sized.size.estimated_bytes <= 12000);
    for (const a of sized.assignment) {
      const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
      assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, `${a.name} at 12 kB`);
    }
    await app.set("model-size", "100");
    await app.until(async () => /leaves nothing for the allocated tensors/.test(await app.text("model-status")), "a size the kept tensors fill");
    await app.select("model-budget-kind", "bits");
    await app.until(async () => /\(budget 3\)/.test(await app.text("model-total")) && !/Target/.test(await app.text("model-total")), "bits per value again", 30000);
    // Filter by a name pattern, order by error.
    await app.id("model-filter").fill("*.weight");
    assert.equal(await rows.count(), 3);
    await app.id("model-filter").fill("*.b.*");
    await app.until(async () => (await rows.count()) === 1, "one match");
    assert.match(await app.text("model-shown"), /1 of 3 tensors match/);
    await app.id("model-filter").fill("");
    await app.id("model-sort-mse").click();
    const mses = [];
    for (let i = 0; i < 3; i++) mses.push(Number(await rows.nth(i).locator('td[data-col="mse"]').getAttribute("data-value")));
    assert.deepEqual(mses, [...mses].sort((a, b) => b - a), "largest error first");
    assert.ok(await app.inked("model-chart"), "the Pareto chart is drawn");
    // A budget below every assignment is refused beside the view; the last allocation stays.
    await app.set("model-budget", 0.5);
    await app.until(async () => /Not allocated: a budget of 0.5 bits per value is below the cheapest assignment/.test(await app.text("model-status")), "the refusal");
    assert.match(await app.text("model-total"), /\(budget 3\)/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("whole model: cancel while measuring stops it, says so, and the next allocation runs and equals the CLI", async () => {
    const app = await freshPage();
    // Twenty 1024 × 1024 matrices under the twelve default candidates: seconds of measuring
    // (about 0.15 s a tensor in wasm on 2 cores), so the cancel lands while it runs.
    const st = safetensorsF32(
      Array.from({ length: 20 }, (_, k) => ({ name: `blk.${k}.w`, shape: [1024, 1024], values: values(1024 * 1024, 60 + k, 0.1 * (k + 1)) })),
    );
    const dir = mkdtempSync(join(work, "cancel-"));
    writeFileSync(join(dir, "big.safetensors"), st);
    // Over Playwright's 50 MB limit for a buffer: the file goes by its path.
    await app.id("file-input").setInputFiles(join(dir, "big.safetensors"));
    await app.id("model-run").waitFor();
    const before = await app.metrics();
    // The tensors are listed from the header before anything is measured.
    const listed = app.id("model-tensors").locator("tbody tr");
    assert.equal(await listed.count(), 20);
    assert.match(await app.text("model-tensors-summary"), /^20 tensors in the file, 20,971,520 parameters$/);
    assert.equal(await listed.first().locator('td[data-col="status"]').textContent(), "not read yet");
    await app.id("model-run").click();
    await app.id("progress").waitFor({ timeout: 15000 });
    assert.match(await app.text("model-status"), /Measuring every tensor/);
    // Rows fill as tensors are measured, before the allocation: each σ is the data's.
    await app.until(async () => /read by the allocation/.test(await app.text("model-tensors-summary")), "a first tensor read", 30000);
    assert.equal(await app.id("model-total").count(), 0, "not allocated yet");
    const first = listed.first();
    assert.equal(await first.locator('td[data-col="status"]').textContent(), "allocated");
    const x0 = values(1024 * 1024, 60, 0.1);
    const mean = x0.reduce((a, b) => a + b, 0) / x0.length;
    const sd = Math.sqrt(x0.reduce((a, b) => a + (b - mean) ** 2, 0) / x0.length);
    close(Number(await first.locator('td[data-col="std"]').textContent()), Number(sd.toPrecision(4)), "σ of blk.0.w");
    await app.id("cancel").click();
    await app.until(async () => (await app.id("job-progress").count()) === 0, "progress gone");
    await app.until(async () => /cancelled/.test(await app.text("model-status")), "the cancel said beside the view");
    assert.equal(await app.id("model-total").count(), 0, "no allocation shown");
    // The explorer still shows the same tensor's figures, and the next allocation completes.
    assert.deepEqual(await app.metrics(), before);
    await app.id("model-run").click();
    await app.until(async () => (await app.text("model-total")).includes("(budget 4.5)"), "the allocation after the cancel", 120000);
    const want = JSON.parse(execFileSync(CLI, ["allocate", "big.safetensors", "--budget", "4.5", "--json"], { cwd: dir, encoding: "utf8" }));
    for (const a of want.assignment) {
      const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
      assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, a.name);
    }
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("whole model: a sharded checkpoint opens from its index and shards; a broken shard is named and the rest allocated as the CLI does", async () => {
    const app = await freshPage();
    const dir = mkdtempSync(join(work, "shards-"));
    const files = {
      "model-00001-of-00003.safetensors": safetensorsF32([
        { name: "blk.0.a.weight", shape: [64, 128], values: values(64 * 128, 41, 0.05) },
        { name: "blk.0.a.bias", shape: [64], values: values(64, 42) },
      ]),
      "model-00002-of-00003.safetensors": safetensorsF32([{ name: "blk.1.c.weight", shape: [128, 64], values: values(128 * 64, 43, 1.0) }]),
      // A header length that runs past the end of the file.
      "model-00003-of-00003.safetensors": Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]),
      "model.safetensors.index.json": Buffer.from(JSON.stringify({
        metadata: { total_size: 0 },
        weight_map: {
          "blk.0.a.weight": "model-00001-of-00003.safetensors",
          "blk.0.a.bias": "model-00001-of-00003.safetensors",
          "blk.1.c.weight": "model-00002-of-00003.safetensors",
          "blk.2.d.weight": "model-00003-of-00003.safetensors",
        },
      })),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    await app.id("file-input").setInputFiles(Object.keys(files).map((name) => join(dir, name)));
    const label = app.page.locator('label[for="tensor-select"]');
    await app.until(async () => (await label.count()) && (await label.textContent()) === "Tensor in model.safetensors.index.json", "the checkpoint open");
    assert.equal(await app.text("data-name"), "blk.0.a.weight");
    assert.match(await app.text("file-description"), /shards\s*2 of 3 read/);
    assert.match(await app.text("file-description"), /set aside\s*model-00003-of-00003\.safetensors: /);
    await app.id("model-run").waitFor();
    assert.match(await app.text("model-set-aside"), /^Shard model-00003-of-00003\.safetensors set aside: .+\. Its tensors are not listed/);
    assert.match(await app.text("model-tensors-summary"), /^3 tensors in 2 shards, 16,448 parameters$/);
    // A tensor of the second shard is read from it: the metrics equal the CLI's on that shard.
    await app.select("tensor-select", "blk.1.c.weight");
    await app.until(async () => (await app.text("data-shape")) === "128 × 64", "the second shard's tensor");
    assertSameMetrics(await app.metrics(), cli(join(dir, "model-00002-of-00003.safetensors"), ["--tensor", "blk.1.c.weight"]), "sharded tensor");
    // The allocation equals quantscope allocate on the index; the broken shard's tensor is kept out with its reason.
    const want = JSON.parse(execFileSync(CLI, ["allocate", "model.safetensors.index.json", "--budget", "4.5", "--json"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    await app.id("model-run").click();
    await app.until(async () => (await app.text("model-total")).includes("(budget 4.5)"), "the allocation", 30000);
    const rows = app.id("model-table").locator("tbody tr");
    assert.equal(await rows.count(), want.assignment.length);
    for (const a of want.assignment) {
      const row = app.id("model-table").locator(`tbody tr[data-name="${a.name}"]`);
      assert.equal(await row.locator('td[data-col="candidate"]').textContent(), a.candidate, a.name);
      close(Number(await row.locator('td[data-col="mse"]').getAttribute("data-value")), a.mse, `${a.name} mse`);
    }
    assert.deepEqual(want.kept.map((k) => k.name), ["blk.0.a.bias", "blk.2.d.weight"]);
    assert.match(await app.id("model-kept").textContent(), /blk\.2\.d\.weight — shard model-00003-of-00003\.safetensors: /);
    // Files that are not one checkpoint, or an index alone, are refused beside the picker; the
    // view stays.
    const before = await app.metrics();
    await app.id("file-input").setInputFiles(join(dir, "model.safetensors.index.json"));
    await app.until(async () => /an index only names the shards; choose it together with its \.safetensors shards/.test(await app.text("error-banner")), "the index alone");
    assert.deepEqual(await app.metrics(), before);
    await app.id("file-input").setInputFiles([
      { name: "a.npy", mimeType: "application/octet-stream", buffer: npyF32([4], [1, 2, 3, 4]) },
      { name: "b.csv", mimeType: "text/csv", buffer: Buffer.from("1,2,3") },
    ]);
    await app.until(async () => /only as one sharded checkpoint/.test(await app.text("error-banner")), "the refusal");
    assert.deepEqual(await app.metrics(), before);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("integer-only arithmetic: one output's M0, shift and int8 result equal quantscope int-matmul's", async () => {
    const app = await openingPage();
    await app.set("int-seed", 3);
    await app.select("int-row", "2");
    await app.select("int-col", "1");
    const dir = mkdtempSync(join(work, "int-"));
    const codes = join(dir, "codes.npy");
    const want = JSON.parse(execFileSync(CLI, ["int-matmul", "--example", "3", "--json", "--codes", codes], { encoding: "utf8" }));
    await app.until(async () => Number(await app.text("int-m0")) === want.multiplier[1], "M0 of output 1");
    assert.equal(Number(await app.text("int-shift")), want.shift[1]);
    // codes.npy: an i32 array [4, 3] after its header.
    const bytes = readFileSync(codes);
    const body = bytes.subarray(bytes.length - 4 * 12);
    const yq = new Int32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    assert.equal(Number(await app.text("int-yq")), yq[2 * 3 + 1]);
    assert.match(await app.text("int-scales"), new RegExp(`Z_y = ${want.output_zero_point}`));
    assert.match(await app.id("int-steps").textContent(), /rounding doubling high multiply/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("vector codebooks: a 2-D view with cells; a sub-vector length that does not divide is refused", async () => {
    const app = await freshPage();
    const npy = npyF32([64, 64], values(4096, 13));
    const npyPath = join(work, "vq.npy");
    writeFileSync(npyPath, npy);
    await app.upload("vq.npy", npy);
    await app.until(async () => (await app.text("data-shape")) === "64 × 64", "file loaded");
    await app.select("format", "kmeans");
    await app.set("vector-dim", 2);
    await app.id("voronoi").waitFor();
    // log2(16) / 2 + 16 centroids · 2 · 32 bits / 4096 values
    await app.until(async () => (await app.number("metric-bpv")) === 2.25, "2-D codebook bits");
    // The page trains the codebook exactly as the CLI does (issue 11.5): the same figures.
    assertSameMetrics(await app.metrics(), cli(npyPath, ["--format", "kmeans", "--vector-dim", "2"]), "2-D K=16");
    const painted = await app.id("voronoi").evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return colours.size;
    });
    assert.ok(painted > 10, `the cells are painted in several colours (${painted})`);
    assert.equal(await app.id("transfer").count(), 0, "no staircase for pairs");
    const formulas = await app.text("formulas");
    assert.match(formulas, /K = 16 centroids in D = 2 dimensions/);
    assert.doesNotMatch(formulas, /32 levels/);

    await app.set("vector-dim", 5);
    await app.until(async () => (await app.text("error-banner")).includes("does not divide"), "refused");
    assert.equal(await app.text("vector-dim"), "2");
    assert.equal(await app.number("metric-bpv"), 2.25);
    await app.page.close();
  });

  test("formats side by side: ranked rows, the Pareto front, and 'use' applies a preset", async () => {
    const app = await freshPage();
    const rows = app.id("format-row");
    await app.until(async () => (await rows.count()) >= 15, "comparison rows");
    const bpv = (await app.id("format-bpv").allTextContents()).map(Number);
    assert.deepEqual(bpv, bpv.slice().sort((a, b) => a - b), "sorted by bits per value");
    const names = await rows.evaluateAll((rs) => rs.map((r) => r.dataset.name));
    assert.ok(names.includes("your settings") && names.includes("mxfp4") && names.includes("nvfp4"));
    assert.ok((await app.page.locator(".formats .star").count()) >= 2, "a Pareto front");
    const inked = await app.id("pareto-chart").evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;
      return n;
    });
    assert.ok(inked > 2000, `the chart is drawn (${inked} dark pixels)`);

    // On a phone the table scrolls inside its panel; the page itself never scrolls sideways.
    await app.page.setViewportSize({ width: 390, height: 844 });
    await app.page.waitForTimeout(200);
    assert.ok(await app.page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scroll at 390 px");
    // The table fits its panel (no hidden columns to scroll to): every row's "use" is in view.
    const fits = await app.id("formats-table").evaluate((t) => t.scrollWidth <= t.parentElement.clientWidth + 1);
    assert.ok(fits, "the formats table fits at 390 px");
    // Every visible control is a tap target of at least 44 px (a checkbox through its label),
    // and the data comes first.
    const small = await app.page.evaluate(() => {
      const out = [];
      for (const el of document.querySelectorAll("button, select, input, summary")) {
        const target = el.type === "checkbox" ? el.closest("label") ?? el : el;
        const r = target.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not shown
        if (r.height < 44) out.push(`${el.dataset.testid ?? el.tagName + "." + el.className}: ${r.height.toFixed(0)} px`);
      }
      return out;
    });
    assert.deepEqual(small, [], "tap targets under 44 px");
    const order = await app.page.evaluate(() =>
      ["data-title", "hist-title"].map((id) => document.getElementById(id).getBoundingClientRect().top));
    assert.ok(order[0] < order[1], "the Data panel comes before the histogram on a phone");
    await app.page.setViewportSize({ width: 1280, height: 800 });
    await app.until(async () => (await app.text("formats-note")).startsWith("Every row measured"), "every row measured");
    await app.page.locator('[data-name="nvfp4"] button.use').click();
    await app.until(async () => (await app.text("format")) === "fp4-e2m1", "nvfp4 applied");
    assert.equal(await app.text("scale-format"), "e4m3");
    assert.equal(await app.text("group-size"), "16");
    // 4 bits + 8 per 16 values + one f32 tensor scale over the 131,072 values.
    await app.until(async () => Math.abs((await app.number("metric-bpv")) - (4.5 + 32 / 131072)) < 1e-5, "nvfp4 bits");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("the table, the preset select and the levels tell the truth about the data (issue 11)", async () => {
    const app = await freshPage();
    // 1000 × 96: blocks of 32 divide the rows, blocks of 64 and 128 do not.
    await app.set("synth-n", 96000);
    await app.until(async () => (await app.text("synth-cols")) === "768", "columns that divide N");
    assert.match(await app.text("synth-shape"), /1,024 columns do not divide N = 96,000/);
    await app.set("synth-cols", 96);
    await app.until(async () => (await app.text("data-shape")) === "1000 × 96", "1000 × 96");
    const rows = app.id("format-row");
    await app.until(async () => (await app.text("formats-note")).startsWith("Every row measured on all 96,000"), "every row measured");
    // "your settings" is the Error panel's analysis, digit for digit.
    const yours = app.page.locator('[data-name="your settings"]');
    assert.equal(await yours.getByTestId("format-sqnr").textContent(), await app.text("metric-sqnr"));
    assert.equal(await yours.getByTestId("format-mse").textContent(), await app.text("metric-mse"));
    // Blocks of 64 and 128 do not divide the last axis, so neither the table nor the preset
    // select offers nf4 or int4-g128, and every row can be applied.
    const names = (await rows.evaluateAll((rs) => rs.map((r) => r.dataset.name))).filter((n) => n !== "your settings");
    const offered = (await app.id("preset").locator("option").evaluateAll((os) => os.map((o) => o.value))).filter((v) => v !== "");
    assert.deepEqual(names.slice().sort(), offered.slice().sort());
    assert.ok(!offered.includes("nf4") && !offered.includes("int4-g128") && offered.includes("mxfp4"));
    // Every preset, applied: the select shows it, nothing is refused, and the levels used never
    // exceed the distinct values the format has.
    for (const name of offered) {
      await app.select("preset", name);
      await app.until(async () => (await app.text("preset")) === name, `${name} shown as the preset`);
      await app.until(async () => {
        const row = app.page.locator(`[data-name="${name}"]`).getByTestId("format-sqnr");
        return (await row.textContent()) === (await app.text("metric-sqnr"));
      }, `${name}: the Error panel equals its row`);
      const used = await app.number("metric-levels");
      const available = Number((await app.text("metric-levels-available")).replace(/,/g, ""));
      assert.ok(used >= 1 && used <= available, `${name}: levels used ${used} of ${available}`);
      assert.equal(await app.id("error-banner").count(), 0, `${name} was refused`);
    }
    // FP4 has 15 distinct values (±0 are one); MXFP4 on normal data uses all of them at most.
    await app.select("preset", "mxfp4");
    await app.until(async () => (await app.text("metric-levels-available")) === "15", "FP4 has 15 values");
    // A knob turned by hand makes the settings custom.
    await app.select("scale-format", "f32");
    await app.until(async () => (await app.text("preset")) === "", "custom settings");
    // "What do the knobs mean?" explains every calibrator and format family, not only integers.
    const explain = await app.text("explain");
    for (const term of ["Min–max", "Percentile", "MSE", "SQNR (γ)", "KL", "ACIQ", "FP8 / FP6 / FP4", "E8M0", "NVFP4", "NF4", "GGML", "k-means", "Vector codebooks", "Narrow signed range", "Power-of-two scale"]) {
      assert.ok(explain.includes(term), `the explanations cover ${term}`);
    }
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("calibrators compared: every method on one histogram, a table equal to the CLI's, a click adopts one", async () => {
    const app = await freshPage();
    await app.set("bits", 4);
    const file = join(work, "calibrators.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    const methods = {
      minmax: ["--calibration", "minmax"],
      percentile: ["--calibration", "percentile", "--percentile", "99.9"],
      mse: ["--calibration", "mse"],
      sqnr: ["--calibration", "sqnr", "--gamma", "3"],
      kl: ["--calibration", "kl"],
      aciq: ["--calibration", "aciq", "--aciq-fit", "laplace"],
    };
    const cell = (method, col) =>
      app.page.locator(`[data-testid="calibrator-table"] tr[data-method="${method}"] td[data-col="${col}"]`);
    const num = async (method, col) => Number(await cell(method, col).textContent());
    const rowsIn = async () =>
      (await app.page.locator('[data-testid="calibrator-table"] tbody tr[data-method]').count()) === 7;
    // Every row for 4 bits: the min–max row is the Error panel's figure.
    await app.until(async () => (await rowsIn()) && Math.abs((await num("minmax", "mse")) - (await app.number("metric-mse"))) <= 1e-12 + 2e-5 * (await app.number("metric-mse")), "all seven rows at 4 bits", 30000);
    const keys = await app.page.$$eval('[data-testid="calibrator-table"] tbody tr', (rs) => rs.map((r) => r.dataset.method));
    assert.deepEqual(keys, ["minmax", "percentile", "mse", "sqnr", "kl", "aciq", "manual"]);
    for (const [method, flags] of Object.entries(methods)) {
      const core = cli(file, ["--bits", "4", ...flags]);
      close(await num(method, "mse"), core.mse, `${method} mse`);
      close(await num(method, "sqnr"), core.sqnr_db, `${method} sqnr`);
      close(await num(method, "lo"), core.clip[0], `${method} lo`);
      close(await num(method, "hi"), core.clip[1], `${method} hi`);
    }
    // Manual takes over the range shown now (min–max's), so its row is min–max's.
    close(await num("manual", "lo"), await num("minmax", "lo"), "manual lo");
    close(await num("manual", "mse"), await num("minmax", "mse"), "manual mse");
    // The best row is the one of least MSE, and on normal data at 4 bits it is not min–max.
    const mses = {};
    for (const k of keys) mses[k] = await num(k, "mse");
    const best = Object.entries(mses).sort((a, b) => a[1] - b[1])[0][0];
    assert.equal(await app.page.locator('[data-testid="calibrator-table"] tr.best').getAttribute("data-method"), best);
    assert.notEqual(best, "minmax");
    // The chart is drawn: far from blank.
    const inked = await app.inked("calibrator-chart");
    assert.ok(inked > 2000, `the calibrator chart is drawn (${inked} inked pixels)`);
    // A knob moves every row: at 6 bits the min–max row follows the Error panel again.
    await app.set("bits", 6);
    const core6 = cli(file, ["--bits", "6", "--calibration", "kl"]);
    await app.until(async () => (await rowsIn()) && Math.abs((await num("kl", "mse")) - core6.mse) <= core6.mse * 2e-5, "the rows at 6 bits", 30000);
    // Clicking a row adopts its method: the Error panel shows that row's figures.
    await app.page.locator('[data-testid="calibrator-table"] tr[data-method="mse"] td.name').click();
    await app.until(async () => (await app.page.locator('[data-testid="calibration"]').inputValue()) === "mse", "MSE calibration chosen");
    const mse6 = cli(file, ["--bits", "6", "--calibration", "mse"]);
    await app.until(async () => Math.abs((await app.number("metric-mse")) - mse6.mse) <= mse6.mse * 2e-5, "the MSE row's figures in the Error panel");
    assert.match(await app.page.locator('[data-testid="calibrator-table"] tr[data-method="mse"]').textContent(), /in use/);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("error against bit width: SQNR at b = 1…16 equal to the CLI's, the current width marked, a knob moves it", async () => {
    const app = await freshPage();
    const file = join(work, "bits.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    const cellOf = (b, col) => app.page.locator(`[data-testid="sweep-bits-table"] tr[data-bits="${b}"] td[data-col="${col}"]`);
    const rows = () => app.page.locator('[data-testid="sweep-bits-table"] tbody tr').count();
    await app.until(async () => (await rows()) === 16, "16 widths", 30000);
    for (const b of [1, 3, 8, 16]) {
      const core = cli(file, ["--bits", String(b)]);
      close(Number(await cellOf(b, "sqnr").textContent()), core.sqnr_db, `${b} bits sqnr`);
      close(Number(await cellOf(b, "mse").textContent()), core.mse, `${b} bits mse`);
    }
    // The current width's point is the Error panel's figure, and is marked.
    close(Number(await cellOf(8, "sqnr").textContent()), await app.number("metric-sqnr"), "8 bits = the Error panel");
    assert.match(await app.page.locator('[data-testid="sweep-bits-table"] tr.yours').textContent(), /^8 \(now\)/);
    // Each bit adds about 6 dB on normal data at min–max (the line the chart draws).
    const s6 = Number(await cellOf(6, "sqnr").textContent());
    const s7 = Number(await cellOf(7, "sqnr").textContent());
    assert.ok(Math.abs(s7 - s6 - 6.02) < 0.3, `one bit: ${s7 - s6} dB`);
    const inked = await app.inked("sweep-bits");
    assert.ok(inked > 2000, `the sweep is drawn (${inked} inked pixels)`);
    // A knob moves the whole curve: symmetric quantization at 4 bits, as the CLI computes it.
    await app.select("scheme", "symmetric");
    const sym = cli(file, ["--bits", "4", "--symmetric"]);
    await app.until(async () => (await rows()) === 16 && Math.abs(Number(await cellOf(4, "sqnr").textContent()) - sym.sqnr_db) <= Math.abs(sym.sqnr_db) * 2e-5, "the symmetric sweep", 30000);
    // Hovering names a width's figures.
    const box = await app.id("sweep-bits").boundingBox();
    await app.id("sweep-bits").hover({ position: { x: box.width / 2, y: box.height / 2 } });
    await app.until(async () => /bits: SQNR .* dB/.test(await app.text("sweep-bits-readout")), "the hover readout");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("error against the clipping range: 25 ranges equal to the CLI's --clip, MSE split into rounding and clipping, a knob moves it", async () => {
    const app = await freshPage();
    const file = join(work, "clips.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    await app.set("bits", 4);
    const table = '[data-testid="sweep-clip-table"]';
    const rows = () => app.page.locator(`${table} tbody tr`).count();
    const cell = (f, col) => app.page.locator(`${table} tr[data-fraction="${f}"] td[data-col="${col}"]`).textContent();
    await app.until(async () => (await rows()) === 25, "25 ranges", 30000);
    // All of the range is min–max: the CLI's default, with its clipping part.
    const whole = cli(file, ["--bits", "4"]);
    close(Number(await cell(1, "mse")), whole.mse, "f = 1 mse");
    close(await app.number("metric-clip-mse"), whole.clipping_mse, "the Error panel's clipping part");
    // A narrow range: the CLI on the same manual range gives the same MSE and clipping part.
    for (const f of [0.125, 0.5]) {
      const [lo, hi] = [await cell(f, "lo"), await cell(f, "hi")];
      const core = cli(file, ["--bits", "4", "--calibration", "manual", "--clip", `${lo},${hi}`]);
      close(Number(await cell(f, "mse")), core.mse, `f = ${f} mse`);
      close(Number(await cell(f, "clip-mse")), core.clipping_mse, `f = ${f} clipping part`);
    }
    // Clipping dominates a narrow range, rounding a wide one.
    const narrow = Number(await cell(0.125, "clip-mse")) / Number(await cell(0.125, "mse"));
    assert.ok(narrow > 0.9, `clipping share at 1/8: ${narrow}`);
    assert.ok(Number(await cell(1, "clip-mse")) < 1e-3 * Number(await cell(1, "mse")), "no clipping at min–max");
    const inked = await app.inked("sweep-clip");
    assert.ok(inked > 2000, `the sweep is drawn (${inked} inked pixels)`);
    // A knob moves it: at 8 bits the whole-range point is the CLI's 8-bit figure.
    await app.set("bits", 8);
    const eight = cli(file, ["--bits", "8"]);
    await app.until(async () => (await rows()) === 25 && Math.abs(Number(await cell(1, "mse")) - eight.mse) <= eight.mse * 2e-5, "the 8-bit sweep", 30000);
    const box = await app.id("sweep-clip").boundingBox();
    await app.id("sweep-clip").hover({ position: { x: box.width / 2, y: box.height / 2 } });
    await app.until(async () => /MSE .* = rounding .* \+ clipping/.test(await app.text("sweep-clip-readout")), "the hover readout");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("the URL holds the settings: a fresh tab on a copied link shows the same figures; back and forward work", async () => {
    const app = await freshPage();
    await app.select("dist-select", "laplace");
    await app.set("synth-seed", 9);
    await app.until(async () => (await app.text("data-name")).includes("seed 9"), "seed 9");
    // Wait past the second within which changes share one history entry.
    await app.page.waitForTimeout(1100);
    await app.set("bits", 5);
    await app.select("calibration", "mse");
    await app.until(async () => app.page.url().includes("%22bits%22%3A5") && app.page.url().includes("mse"), "the settings in the URL");
    const sqnr = await app.text("metric-sqnr");
    const link = app.page.url();
    assert.match(link, /#v1=/);
    assert.doesNotMatch(decodeURIComponent(link), /"values"/, "no data in the link");
    // A fresh tab on the link: the same data, knobs and figure.
    const tab = await context.newPage();
    await tab.setViewportSize({ width: 1280, height: 800 });
    const other = new Quantscope(tab, server.url);
    await tab.goto(link);
    await other.until(async () => (await other.text("metric-sqnr")) === sqnr, `SQNR ${sqnr} in the fresh tab`, 20000);
    assert.match(await other.text("data-name"), /laplace.*seed 9/);
    assert.equal(await other.text("bits"), "5");
    assert.equal(await tab.locator('[data-testid="calibration"]').inputValue(), "mse");
    // The CLI agrees on the same values and settings.
    const file = join(work, "link.npy");
    execFileSync(CLI, ["synth", "laplace", "--n", "131072", "--seed", "9", "--cols", "1024", "--out", file]);
    const core = cli(file, ["--bits", "5", "--calibration", "mse"]);
    closeSqnr(await other.number("metric-sqnr"), core.sqnr_db, "linked view sqnr");
    // Back returns to the settings before the last history entry (8 bits, min–max), forward again.
    await app.page.goBack();
    await app.until(async () => (await app.text("bits")) === "8" && (await app.page.locator('[data-testid="calibration"]').inputValue()) === "minmax", "back: 8 bits, min–max");
    await app.page.goForward();
    await app.until(async () => (await app.text("metric-sqnr")) === sqnr, "forward: the linked figure again");
    // A link whose settings do not parse says so and shows the defaults.
    const broken = await context.newPage();
    const bad = new Quantscope(broken, server.url);
    await broken.goto(server.url + "/#v1=%7B%22config%22%3A%7B%22bits%22%3A%22x%22%7D%7D");
    await bad.until(async () => /could not be read/.test(await bad.text("link-note")), "the broken link's message");
    await bad.id("metric-mse").waitFor();
    await broken.waitForTimeout(300);
    assert.match(await bad.text("link-note"), /could not be read/, "the message stays after the first load");
    assert.deepEqual(app.errors, []);
    assert.deepEqual(other.errors, []);
    await Promise.all([app.page.close(), tab.close(), broken.close()]);
  });

  test("learn mode: the tour walks forward and back by keys, each step sets its knobs and outlines its panels, links name steps, leaving keeps the settings", async () => {
    const app = await openingPage();
    const page = app.page;
    // What each step sets (field → value) and the heading of a panel it outlines.
    const steps = [
      ["bits", { "dist-select": "normal", format: "int", bits: "3" }, "hist-title"],
      ["float-fixed", { format: "fixed", "int-bits": "3", "frac-bits": "4" }, "numberline-title"],
      ["scale-zero-point", { "dist-select": "half-normal", format: "int", bits: "4", scheme: "asymmetric" }, "formula-title"],
      ["clipping", { "dist-select": "outliers", bits: "4", calibration: "minmax" }, "clips-title"],
      ["dynamic-static", { "dist-select": "normal", bits: "8", "stream-drift": "2" }, "stream-title"],
      ["dequantization", { bits: "4", format: "int" }, "metrics-title"],
      ["non-uniform", { format: "nf4" }, "formats-title"],
      ["granularity", { format: "int", "synth-row-spread": "1", granularity: "tensor" }, "granularity-title"],
      ["vector", { format: "kmeans", levels: "16", "vector-dim": "2" }, "vector-title"],
      ["compensation", { format: "int", granularity: "channel", scheme: "symmetric", "synth-row-spread": "0" }, "layer-title"],
      ["integer-only", { format: "int", bits: "8", granularity: "tensor" }, "int-title"],
    ];
    const atStep = async (i) => {
      const [slug, knobs, heading] = steps[i];
      await app.until(async () => (await app.id("tour").getAttribute("data-step")) === slug, `step ${i + 1} (${slug})`);
      assert.equal(await app.text("tour-progress"), `Step ${i + 1} of ${steps.length}`);
      await app.until(async () => new URL(page.url()).hash === `#learn/${i + 1}`, `#learn/${i + 1} in the link`);
      for (const [testid, value] of Object.entries(knobs)) {
        await app.until(async () => (await app.text(testid)) === value, `step ${i + 1}: ${testid} = ${value}`);
      }
      await app.until(
        async () => page.evaluate((h) => document.getElementById(h)?.closest("section")?.classList.contains("tour-focus") ?? false, heading),
        `step ${i + 1} outlines #${heading}`,
      );
      // Only this step's panels are outlined.
      const outlined = await page.$$eval(".tour-focus h2", (hs) => hs.map((h) => h.id));
      assert.ok(outlined.length >= 1 && outlined.length <= 2, `step ${i + 1} outlines ${outlined}`);
      assert.ok(outlined.includes(heading));
    };
    // The header's button starts the tour.
    await app.id("learn").click();
    await atStep(0);
    // With the card open, every button, progress bar and disclosure of the page (the card's
    // among them) has a name in Chromium's accessibility tree.
    const cdp = await page.context().newCDPSession(page);
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const ids = await page.$$eval('[data-testid="tour"] button, [data-testid="tour"] summary, [data-testid="tour"] progress', (els) => els.length);
    const roles = ["button", "progressbar", "DisclosureTriangle"];
    const inCard = nodes.filter((n) => !n.ignored && roles.includes(n.role?.value));
    const unnamed = inCard.filter((n) => !(n.name?.value ?? "").trim()).map((n) => n.role.value);
    assert.ok(inCard.length >= ids, `the card's ${ids} controls are in the tree`);
    assert.deepEqual(unnamed, [], "tour controls without an accessible name");
    assert.equal(await app.text("metric-levels-available"), "8");
    // The question's answer is hidden until asked for.
    assert.equal(await app.id("tour-answer").isVisible(), false);
    await app.id("tour-quiz").locator("summary").click();
    assert.match(await app.text("tour-answer"), /32 codes, from −16 to 15/);
    await page.locator("body").focus();
    for (let i = 1; i < steps.length; i++) {
      await page.keyboard.press("ArrowRight");
      await atStep(i);
      if (steps[i][0] === "float-fixed") {
        // The number line: Q3.4 has 9 values in ±0.25 and 5 in ±0.125; E4M3's gap at 0 is 2^−9.
        const row = (label) => `[data-testid="number-line-table"] tr[data-format^="${label}"]`;
        await app.until(async () => (await app.text("number-line-zoom")) === "-2", "the step's zoom");
        assert.equal((await page.locator(row("Q3.4")).locator('[data-col="count"]').textContent()).trim(), "9");
        const gap = Number((await page.locator(row("FP8 E4M3")).locator('[data-col="gap0"]').textContent()).trim());
        assert.ok(Math.abs(gap - 2 ** -9) < 1e-6, `E4M3 gap at 0: ${gap}`);
        await app.id("number-line-in").click();
        await app.until(async () => (await page.locator(row("Q3.4")).locator('[data-col="count"]').textContent()).trim() === "5", "Q3.4 in ±0.125");
        assert.ok((await app.inked("number-line")) > 500, "the number line is drawn");
        await page.locator("body").focus();
      }
    }
    // → on the last step stays there; ← walks back, each step setting its knobs again.
    await page.keyboard.press("ArrowRight");
    await atStep(steps.length - 1);
    for (let i = steps.length - 2; i >= 0; i--) {
      await page.keyboard.press("ArrowLeft");
      await atStep(i);
    }
    // Arrow keys in a field belong to the field.
    await app.id("bits").focus();
    await page.keyboard.press("ArrowRight");
    await page.waitForTimeout(200);
    assert.equal(await app.id("tour").getAttribute("data-step"), "bits");
    // The browser's back and forward walk the tour too.
    await app.id("tour-next").click();
    await app.id("tour-next").click();
    await atStep(2);
    await page.goBack();
    await atStep(1);
    await page.goForward();
    await atStep(2);
    // A link names a step: a fresh tab opens on it with its settings and the core's figures.
    const tab = await context.newPage();
    await tab.setViewportSize({ width: 390, height: 844 });
    const other = new Quantscope(tab, server.url);
    await tab.goto(server.url + "/#learn/7");
    await other.until(async () => (await other.id("tour").getAttribute("data-step")) === "non-uniform", "the linked step");
    await other.until(async () => (await other.text("format")) === "nf4", "NF4 from the link");
    const file = join(work, "learn-normal.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--seed", "1", "--cols", "1024", "--out", file]);
    const core = cli(file, ["--preset", "nf4"]);
    await other.until(async () => Math.abs((await other.number("metric-sqnr")) - core.sqnr_db) < 1e-3 * Math.abs(core.sqnr_db), `the step's SQNR equals the CLI's ${core.sqnr_db}`);
    // Escape leaves the tour; the settings stay and the link holds them again.
    await tab.locator("body").focus();
    await tab.keyboard.press("Escape");
    await other.id("tour").waitFor({ state: "detached" });
    assert.equal(await other.text("format"), "nf4");
    await other.until(async () => /#v1=/.test(tab.url()) && decodeURIComponent(tab.url()).includes("nf4"), "the settings back in the link");
    assert.equal(await other.id("learn").getAttribute("aria-pressed"), "false");
    assert.deepEqual(app.errors, []);
    assert.deepEqual(other.errors, []);
    await Promise.all([page.close(), tab.close()]);
  });

  test("granularity: per-channel ranges and SQNR equal the CLI per tensor and per channel, the outliers' rows set the range, group sizes too", async () => {
    const app = await openingPage();
    const file = join(work, "channels.npy");
    execFileSync(CLI, ["synth", "outliers", "--n", "131072", "--cols", "1024", "--out", file]);
    const series = (name, col) => app.page.locator(`[data-testid="channel-sqnr-table"] tr[data-series="${name}"] td[data-col="${col}"]`).textContent();
    await app.until(async () => (await app.page.locator('[data-testid="channel-sqnr-table"] tbody tr').count()) === 2, "the channel study", 30000);
    const tensor = cli(file, ["--bits", "4"]);
    const channel = cli(file, ["--bits", "4", "--granularity", "channel", "--axis", "0"]);
    close(Number(await series("per tensor", "sqnr")), tensor.sqnr_db, "per-tensor SQNR from the channels");
    close(Number(await series("per channel", "sqnr")), channel.sqnr_db, "per-channel SQNR from the channels");
    close(Number(await series("per tensor", "sqnr")), await app.number("metric-sqnr"), "the Error panel's SQNR");
    // The rows holding the data's min and max set the per-tensor range (read from the file).
    const bytes = readFileSync(file);
    const start = 10 + bytes.readUInt16LE(8);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
    let [lo, hi] = [0, 0];
    for (let i = 0; i < data.length; i++) {
      if (data[i] < data[lo]) lo = i;
      if (data[i] > data[hi]) hi = i;
    }
    const setters = [...new Set([Math.floor(lo / 1024), Math.floor(hi / 1024)])].sort((a, b) => a - b);
    assert.match(await app.text("channel-summary"), new RegExp(`set by channels? ${setters.join(" and ")} `));
    assert.ok((await app.inked("channel-ranges")) > 3000, "the channel ranges are drawn");
    const box = await app.id("channel-ranges").boundingBox();
    await app.id("channel-ranges").hover({ position: { x: box.width / 2, y: box.height / 4 } });
    await app.until(async () => /^Channels? \d+.*values in \[.*worst SQNR per tensor/.test(await app.text("channel-readout")), "the hover readout");
    // Group sizes: every size that divides the rows, each the CLI's figure with its scale storage.
    const group = (g, col) => app.page.locator(`[data-testid="sweep-groups-table"] tr[data-granularity="${g}"] td[data-col="${col}"]`).textContent();
    await app.until(async () => (await app.page.locator('[data-testid="sweep-groups-table"] tbody tr').count()) === 9, "tensor, channel and 7 group sizes", 30000);
    for (const g of [32, 128]) {
      const core = cli(file, ["--bits", "4", "--granularity", "group", "--group-size", String(g)]);
      close(Number(await group(g, "sqnr")), core.sqnr_db, `g${g} SQNR`);
      close(Number(await group(g, "bpv")), core.bits_per_value, `g${g} bits per value`);
    }
    close(Number(await group("channel", "sqnr")), channel.sqnr_db, "the sweep's per-channel point");
    assert.ok((await app.inked("sweep-groups")) > 1500, "the group sweep is drawn");
    // A knob moves both: at 8 bits the per-tensor figure is the CLI's 8-bit one.
    await app.set("bits", 8);
    const eight = cli(file, ["--bits", "8"]);
    await app.until(async () => Math.abs(Number(await series("per tensor", "sqnr")) - eight.sqnr_db) <= Math.abs(eight.sqnr_db) * 2e-5, "the 8-bit channel study", 30000);
    await app.until(async () => Math.abs(Number(await group("tensor", "sqnr")) - eight.sqnr_db) <= Math.abs(eight.sqnr_db) * 2e-5, "the 8-bit group sweep", 30000);
    // 393,216 values (384 rows of 1,024): the study goes in three parts spread over the workers
    // (parts of ~131,072 values) and merges to the same figures as the CLI's.
    const big = join(work, "channels-big.npy");
    execFileSync(CLI, ["synth", "outliers", "--n", "393216", "--cols", "1024", "--out", big]);
    const bigTensor = cli(big, ["--bits", "8"]);
    const bigChannel = cli(big, ["--bits", "8", "--granularity", "channel", "--axis", "0"]);
    await app.set("synth-n", 393216);
    const near = async (name, want) => Math.abs(Number(await series(name, "sqnr")) - want) <= Math.abs(want) * 2e-5;
    await app.until(async () => /^384 channels of 1,024 values/.test(await app.text("channel-summary")) && (await near("per tensor", bigTensor.sqnr_db)) && (await near("per channel", bigChannel.sqnr_db)), "the study of 384 rows in parts", 30000);
    // One row of values is no matrix: the panel says why.
    await app.set("synth-cols", 1);
    await app.until(async () => /need a matrix/.test(await app.text("channel-status")), "the 1-D message", 20000);
    assert.equal(await app.id("channel-ranges").count(), 0);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("dynamic vs static: a drifting stream clips under the static range, each batch equals the CLI, bad settings are refused next to the field", async () => {
    const app = await freshPage();
    const file = join(work, "stream.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    await app.set("bits", 4);
    await app.set("stream-drift", 2);
    await app.set("stream-calibrate", 2);
    const mode = (m, col) => app.page.locator(`[data-testid="stream-table"] tr[data-mode="${m}"] td[data-col="${col}"]`).textContent();
    const batch = (t, col) => app.page.locator(`[data-testid="stream-batches-table"] tr[data-batch="${t}"] td[data-col="${col}"]`).textContent();
    const range = async () => (await app.text("stream-static-range")).match(/\[(\S+), (\S+)\], from the first (\d+)/);
    await app.until(async () => (await range())?.[3] === "2" && (await app.page.locator('[data-testid="stream-batches-table"] tbody tr').count()) === 32, "a stream of 32 batches calibrated on 2", 30000);
    // "10.42 %": the most clipped batch after calibration.
    await app.until(async () => parseFloat(await mode("static", "clipped")) > 0, "later batches clipped");
    assert.ok(Number(await mode("dynamic", "mean-sqnr")) > Number(await mode("static", "mean-sqnr")) + 3, "dynamic ranges follow the drift");
    assert.ok((await app.inked("dynamic-static")) > 3000, "the stream is drawn");
    // Batch 20 is rows 80..83 scaled by e^(2·20/31): the CLI on those values, with the static
    // range as a manual clip and with its own min–max, gives the page's two figures.
    const bytes = readFileSync(file);
    const start = 10 + bytes.readUInt16LE(8);
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
    const m = Math.fround(Math.exp((2 * 20) / 31));
    const rows = Array.from(all.subarray(20 * 4096, 21 * 4096), (x) => Math.fround(x * m));
    const batchFile = join(work, "batch20.npy");
    writeFileSync(batchFile, npyF32([4096], rows));
    const [, lo, hi] = await range();
    close(Number(await batch(20, "dynamic-sqnr")), cli(batchFile, ["--bits", "4"]).sqnr_db, "batch 20 dynamic");
    const fixed = cli(batchFile, ["--bits", "4", "--calibration", "manual", "--clip", `${lo},${hi}`]);
    close(Number(await batch(20, "static-sqnr")), fixed.sqnr_db, "batch 20 static");
    close(Number(await batch(20, "clipped")), fixed.clipped_fraction, "batch 20 clipped");
    assert.match(await app.text("stream-note"), /Measured here: finding the 32 ranges took [\d.]+ ms/);
    // Calibrated on every batch of an undrifting stream, the static range clips nothing.
    await app.set("stream-drift", 0);
    await app.set("stream-calibrate", 32);
    await app.until(async () => (await range())?.[3] === "32" && parseFloat(await mode("static", "clipped")) === 0, "no clipping", 30000);
    // More calibration batches than batches: refused next to the field, the stream kept.
    await app.set("stream-calibrate", 40);
    await app.until(async () => /calibrate on 1 to 32 batches/.test(await app.text("stream-calibrate-error")), "the message next to the field");
    assert.equal(await app.text("stream-calibrate"), "32");
    assert.equal((await range())[3], "32");
    // A format without a clipping range to fix: the panel says so.
    await app.select("format", "fp8-e4m3");
    await app.until(async () => /integer format/.test(await app.text("stream-status")), "not for fp8", 20000);
    assert.deepEqual(app.errors.filter((e) => !/calibrate on/.test(e)), []);
    await app.page.close();
  });

  test("the quantized tensor downloads as .npy (the CLI's --dequantized and --codes, byte for byte) and as .safetensors (the CLI's --safetensors tensors, read by the safetensors crate)", async () => {
    const app = await freshPage();
    const file = join(work, "tensor.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    await app.set("bits", 4);
    await app.select("granularity", "group");
    await app.set("group-size", 64);
    const flags = ["--bits", "4", "--granularity", "group", "--group-size", "64"];
    await app.until(async () => Math.abs((await app.number("metric-mse")) - cli(file, flags).mse) <= cli(file, flags).mse * 2e-5, "int4 g64");
    const download = async (testid) => {
      const [d] = await Promise.all([app.page.waitForEvent("download"), app.id(testid).click()]);
      const path = join(work, `${testid}-${d.suggestedFilename()}`);
      await d.saveAs(path);
      return { name: d.suggestedFilename(), bytes: readFileSync(path) };
    };
    const out = (name) => join(work, `cli-${name}`);
    execFileSync(CLI, ["quantize", file, ...flags, "--dequantized", out("d.npy"), "--codes", out("c.npy"), "--safetensors", out("q.safetensors")]);
    const dq = await download("export-npy");
    assert.match(dq.name, /^synthetic-normal.*-int4-g64-dequantized\.npy$/);
    assert.ok(dq.bytes.equals(readFileSync(out("d.npy"))), "the dequantized values are the CLI's");
    assert.match(dq.bytes.subarray(0, 128).toString("latin1"), /'shape': \(128, 1024\)/);
    const codes = await download("export-npy-codes");
    assert.ok(codes.bytes.equals(readFileSync(out("c.npy"))), "the codes are the CLI's");
    const st = await download("export-safetensors");
    assert.match(st.name, /-int4-g64-quantized\.safetensors$/);
    // The reference implementation (the safetensors crate, in `quantscope info`) reads the file.
    const stPath = join(work, "page-export.safetensors");
    writeFileSync(stPath, st.bytes);
    const info = JSON.parse(execFileSync(CLI, ["info", stPath, "--json"], { encoding: "utf8" }));
    assert.deepEqual(info.checked_by_safetensors_crate, [stPath]);
    assert.deepEqual(info.tensors.map((t) => `${t.name}:${t.dtype}`).sort(), ["codes:I8", "scales:F32", "zero_points:I32"]);
    const parse = (b) => {
      const n = Number(b.readBigUInt64LE(0));
      const header = JSON.parse(b.subarray(8, 8 + n).toString("utf8"));
      const tensor = (name) => {
        const t = header[name];
        return { ...t, bytes: b.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]) };
      };
      return { header, tensor };
    };
    const page = parse(st.bytes);
    const core = parse(readFileSync(out("q.safetensors")));
    assert.deepEqual(Object.keys(page.header).sort(), ["__metadata__", "codes", "scales", "zero_points"]);
    for (const name of ["codes", "scales", "zero_points"]) {
      const [a, b] = [page.tensor(name), core.tensor(name)];
      assert.equal(a.dtype, b.dtype, `${name} dtype`);
      assert.deepEqual(a.shape, b.shape, `${name} shape`);
      assert.ok(a.bytes.equals(b.bytes), `${name} bytes`);
    }
    assert.equal(page.tensor("codes").dtype, "I8");
    assert.deepEqual(page.tensor("scales").shape, [128, 16]);
    const about = JSON.parse(page.header.__metadata__.quantscope);
    assert.deepEqual(about.config.granularity, { kind: "group", size: 64 });
    assert.match(about.source, /synthetic normal/);
    // Decoding the file gives the dequantized download.
    const dqStart = 10 + dq.bytes.readUInt16LE(8);
    const dqValues = new Float32Array(dq.bytes.buffer.slice(dq.bytes.byteOffset + dqStart, dq.bytes.byteOffset + dq.bytes.length));
    const c = new Int8Array(page.tensor("codes").bytes.buffer, page.tensor("codes").bytes.byteOffset, 131072);
    const sc = page.tensor("scales").bytes;
    const zp = page.tensor("zero_points").bytes;
    for (const i of [0, 1, 64, 70_000, 131_071]) {
      const g = Math.floor(i / 64);
      const x = Math.fround((c[i] - zp.readInt32LE(4 * g)) * sc.readFloatLE(4 * g));
      assert.equal(x, dqValues[i], `value ${i} decodes`);
    }
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("every control has an accessible name in Chromium's accessibility tree and is reached by Tab", async () => {
    const app = await openingPage();
    await app.until(async () => (await app.page.locator('[data-testid="sweep-groups-table"] tbody tr').count()) > 5, "the panels filled", 30000);
    const cdp = await app.page.context().newCDPSession(app.page);
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const controls = ["button", "combobox", "spinbutton", "textbox", "slider", "checkbox", "radio", "tab", "link", "DisclosureTriangle"];
    const unnamed = nodes
      .filter((n) => !n.ignored && controls.includes(n.role?.value))
      .filter((n) => !(n.name?.value ?? "").trim())
      .map((n) => `${n.role.value} #${n.backendDOMNodeId}`);
    const named = nodes.filter((n) => !n.ignored && controls.includes(n.role?.value)).length;
    assert.ok(named > 30, `the tree holds the page's controls (${named})`);
    assert.deepEqual(unnamed, [], "controls without an accessible name");
    // Tab through the page: every visible, enabled control gets the focus once.
    const wanted = await app.page.$$eval("button, select, input, summary, a[href], [tabindex]", (els) =>
      els
        .filter((e) => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden")
        .map((e, i) => (e.dataset.qsTab = String(i))),
    );
    const reached = new Set();
    await app.page.locator("body").focus();
    for (let i = 0; i < wanted.length + 20; i++) {
      await app.page.keyboard.press("Tab");
      const id = await app.page.evaluate(() => document.activeElement?.dataset?.qsTab);
      if (id !== undefined) reached.add(id);
    }
    const missed = wanted.filter((id) => !reached.has(id));
    const what = await app.page.$$eval("[data-qs-tab]", (els, ids) => els.filter((e) => ids.includes(e.dataset.qsTab)).map((e) => e.outerHTML.slice(0, 80)), missed);
    assert.deepEqual(what, [], "controls Tab does not reach");
    // The theme toggle is one of them, and its name says what it does.
    const toggle = nodes.find((n) => n.role?.value === "button" && /colour theme/.test(n.name?.value ?? ""));
    assert.ok(toggle, "the theme toggle is in the tree");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("light and dark themes: the system's setting by default, the toggle overrides it and is remembered; charts follow", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: "dark" });
    const app = new Quantscope(page, server.url);
    await app.open();
    await app.id("histogram").waitFor();
    await page.waitForTimeout(500);
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const corner = () =>
      page.$eval('[data-testid="histogram"]', (c) => Array.from(c.getContext("2d").getImageData(2, 2, 1, 1).data.slice(0, 3)));
    const dark = (rgb) => rgb.reduce((a, b) => a + b, 0) < 200;
    assert.match(await app.text("theme-toggle"), /system \(dark\)/);
    assert.ok(dark((await bg()).match(/\d+/g).map(Number)), `dark page: ${await bg()}`);
    await app.until(async () => dark(await corner()), "the histogram drawn dark");
    // system → light: the page and the charts turn light, even though the system is dark.
    await app.id("theme-toggle").click();
    await app.until(async () => (await app.text("theme-toggle")) === "Theme: light", "light chosen");
    await app.until(async () => !dark((await bg()).match(/\d+/g).map(Number)), "a light page");
    await app.until(async () => (await corner()).every((c) => c > 240), "the histogram drawn light");
    // Remembered in a new tab.
    const again = await context.newPage();
    await again.emulateMedia({ colorScheme: "dark" });
    const other = new Quantscope(again, server.url);
    await other.open();
    await other.until(async () => (await other.text("theme-toggle")) === "Theme: light", "the choice remembered");
    await again.close();
    // light → dark → system (dark here).
    await app.id("theme-toggle").click();
    await app.until(async () => (await app.text("theme-toggle")) === "Theme: dark", "dark chosen");
    await app.id("theme-toggle").click();
    await app.until(async () => /system/.test(await app.text("theme-toggle")), "back to the system's");
    await app.until(async () => dark(await corner()), "dark again");
    assert.deepEqual(app.errors, []);
    await page.close();
  });

  test("exports download the views' figures as JSON and CSV that parse and agree, and the histogram as PNG", async () => {
    const app = await freshPage();
    await app.set("bits", 4);
    await app.until(async () => (await app.page.locator('[data-testid="calibrator-table"] tbody tr[data-method]').count()) === 7, "the calibrator rows", 30000);
    await app.until(async () => (await app.page.locator('[data-testid="sweep-bits-table"] tbody tr').count()) === 16, "the bit widths", 30000);
    const download = async (testid) => {
      const [d] = await Promise.all([app.page.waitForEvent("download"), app.id(testid).click()]);
      const path = join(work, `${testid}-${d.suggestedFilename()}`);
      await d.saveAs(path);
      return { name: d.suggestedFilename(), bytes: readFileSync(path) };
    };
    const json = await download("export-json");
    assert.equal(json.name, "quantscope.json");
    const doc = JSON.parse(json.bytes.toString("utf8"));
    close(doc.metrics.mse, await app.number("metric-mse"), "exported mse");
    assert.equal(doc.config.bits, 4);
    assert.deepEqual(doc.data.shape, [128, 1024]);
    assert.equal(doc.calibrators.length, 7);
    assert.equal(doc.bit_widths.length, 16);
    assert.equal(doc.values, undefined, "no data in the export");
    const csv = await download("export-csv");
    const lines = csv.bytes.toString("utf8").trim().split("\n");
    assert.equal(lines[0], "table,name,bits_per_value,mse,sqnr_db,clip_lo,clip_hi,clipped_fraction");
    const view = lines[1].split(",");
    assert.equal(view[0], "view");
    close(Number(view[3]), await app.number("metric-mse"), "csv mse");
    assert.equal(lines.filter((l) => l.startsWith("calibrators,")).length, 7);
    assert.equal(lines.filter((l) => l.startsWith("bit_widths,")).length, 16);
    const kl = lines.find((l) => l.startsWith('calibrators,"kl"')).split(",");
    close(Number(kl[3]), Number(await app.page.locator('[data-testid="calibrator-table"] tr[data-method="kl"] td[data-col="mse"]').textContent()), "csv kl mse");
    const png = await download("export-png");
    assert.equal(png.name, "quantscope-histogram.png");
    assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
    assert.ok(png.bytes.length > 5000, `a real image (${png.bytes.length} bytes)`);
    // Any chart on the page: the bit-width sweep.
    await app.select("export-png-chart", "sweep-bits");
    const sweep = await download("export-png");
    assert.equal(sweep.name, "quantscope-sweep-bits.png");
    assert.deepEqual([...sweep.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.notDeepEqual(sweep.bytes, png.bytes);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("A/B: pin the view as A, change knobs, both sets of figures with their difference; back to A", async () => {
    const app = await freshPage();
    const file = join(work, "ab.npy");
    execFileSync(CLI, ["synth", "normal", "--n", "131072", "--cols", "1024", "--out", file]);
    const a = cli(file, ["--bits", "8"]);
    await app.until(async () => Math.abs((await app.number("metric-mse")) - a.mse) <= a.mse * 2e-5, "8 bits");
    await app.id("compare-pin").click();
    await app.set("bits", 4);
    await app.select("scheme", "symmetric");
    const b = cli(file, ["--bits", "4", "--symmetric"]);
    const cell = (metric, col) => app.page.locator(`[data-testid="ab-table"] tr[data-metric="${metric}"] td[data-col="${col}"]`);
    await app.until(async () => Math.abs(Number(await cell("mse", "b").textContent()) - b.mse) <= b.mse * 2e-5, "B at 4 bits symmetric");
    close(Number(await cell("mse", "a").textContent()), a.mse, "A mse");
    close(Number(await cell("sqnr", "a").textContent()), a.sqnr_db, "A sqnr");
    close(Number(await cell("sqnr", "b").textContent()), b.sqnr_db, "B sqnr");
    close(Number(await cell("sqnr", "diff").textContent()), b.sqnr_db - a.sqnr_db, "B − A sqnr");
    close(Number(await cell("mse", "b").textContent()), await app.number("metric-mse"), "B is the Error panel");
    assert.match(await app.text("ab-a-config"), /8 bits.*asymmetric/);
    assert.match(await app.text("ab-b-config"), /4 bits.*symmetric/);
    const inked = await app.inked("ab-chart");
    assert.ok(inked > 2000, `the A/B chart is drawn (${inked} inked pixels)`);
    await app.id("compare-restore").click();
    await app.until(async () => Math.abs((await app.number("metric-mse")) - a.mse) <= a.mse * 2e-5, "back to A");
    assert.equal(await app.text("bits"), "8");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("benchmark: a knob change at 1M values reaches the metrics in the DOM", async () => {
    const app = await freshPage();
    await app.set("synth-n", 1000000);
    await app.until(async () => (await app.text("data-name")).includes("N = 1000000"), "1M values", 30000);
    // In the page: set a field's value, fire its event, and time until `watch` shows new text.
    await app.page.evaluate(() => {
      window.__timeChange = async (testid, value, event, watch) => {
        const field = document.querySelector(`[data-testid="${testid}"]`);
        const target = document.querySelector(`[data-testid="${watch}"]`);
        const before = target.textContent;
        const t0 = performance.now();
        const changed = new Promise((ok) => {
          const obs = new MutationObserver(() => {
            if (target.textContent !== before) {
              obs.disconnect();
              ok(performance.now());
            }
          });
          obs.observe(target, { childList: true, characterData: true, subtree: true });
        });
        field.value = value;
        field.dispatchEvent(new Event(event, { bubbles: true }));
        // A view that never comes fails the test instead of hanging it.
        const late = new Promise((_, no) => setTimeout(() => no(new Error(`${testid} = ${value}: ${watch} unchanged after 60 s`)), 60000));
        const tDom = await Promise.race([changed, late]);
        await new Promise((ok) => requestAnimationFrame(() => ok()));
        return [tDom - t0, performance.now() - t0];
      };
    });
    const time = (testid, value, event, watch) =>
      app.page.evaluate(([t, v, e, w]) => window.__timeChange(t, v, e, w), [testid, value, event, watch]);
    const timings = [];
    for (let i = 0; i < 20; i++) timings.push(await time("bits", i % 2 === 0 ? "7" : "8", "input", "metric-mse"));
    const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const dom = median(timings.map((t) => t[0]));
    const frame = median(timings.map((t) => t[1]));
    const line = `bench: knob change at 1,000,000 values: metrics in DOM after ${dom.toFixed(1)} ms (median of ${timings.length}), next frame painted after ${frame.toFixed(1)} ms`;
    assert.equal(timings.length, 20);

    // Each format at 1M values, then a 2-D codebook (figures for docs/performance.md, not thresholds).
    const lines = [line];
    for (const format of ["fp8-e4m3", "nf4", "q4_0", "kmeans"]) {
      const [ms] = await time("format", format, "change", "metric-bpv");
      lines.push(`bench: switching to ${format} at 1,000,000 values: metrics after ${ms.toFixed(1)} ms`);
    }
    const [vq] = await time("vector-dim", "2", "change", "metric-bpv");
    lines.push(`bench: a 16-centroid 2-D codebook at 1,000,000 values: metrics after ${vq.toFixed(1)} ms`);
    assert.ok((await app.text("metric-bpv")).startsWith("2.0"));
    for (const l of lines) console.log(l);
    mkdirSync("target", { recursive: true });
    writeFileSync(join("target", "e2e-bench.txt"), lines.join("\n") + "\n");
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });
});

