// The compute engine in the browser (issue 10): the workers hold the data, the newest change wins,
// long jobs can be cancelled, a failing worker is reported and replaced, and 16 million values give
// the CLI's numbers.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { serve } from "./server.mjs";
import { launch } from "./browser.mjs";
import { Quantscope, assertSameMetrics, cli, CLI } from "./page.mjs";

const work = mkdtempSync(join(tmpdir(), "quantscope-engine-"));
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

async function freshPage(query = "") {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 800 });
  const app = new Quantscope(page, server.url);
  await app.open(query);
  return app;
}

/** Synthetic data in the page and the same values in a file for the CLI. */
async function synth(app, dist, n, seed) {
  await app.select("dist-select", dist);
  await app.set("synth-n", n);
  await app.set("synth-seed", seed);
  await app.until(async () => (await app.text("data-name")).includes(`N = ${n}, seed ${seed}`), `N = ${n}`, 60000);
  const file = join(work, `${dist}-${n}-${seed}.npy`);
  execFileSync(CLI, ["synth", dist, "--n", String(n), "--seed", String(seed), "--out", file]);
  return file;
}

describe("the compute engine", () => {
  test("the work runs in workers: the page itself holds no values", async () => {
    const app = await freshPage();
    const workers = await app.page.evaluate(() => navigator.hardwareConcurrency);
    assert.ok(workers >= 1);
    // The worker files are served beside the page, and it starts without errors.
    assert.ok(server.requests.some((p) => p.endsWith("quantscope-worker_bg.wasm")));
    assert.ok(server.requests.some((p) => p.endsWith("worker-loader.js")));
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("a burst of 20 fast knob changes ends on the view of the last one", async () => {
    const app = await freshPage();
    const file = await synth(app, "laplace", 1000000, 7);
    // Twenty changes in one task, faster than any analysis: most must be replaced unseen.
    await app.page.evaluate(() => {
      const field = document.querySelector('[data-testid="bits"]');
      for (let i = 0; i < 20; i++) {
        field.value = String(2 + (i % 7));
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
      field.value = "3";
      field.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const core = cli(file, ["--bits", "3"]);
    await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, "the last change's view");
    // Nothing stale arrives later.
    await app.page.waitForTimeout(500);
    assertSameMetrics(await app.metrics(), core, "after the burst, 3 bits");
    assert.equal(await app.number("metric-levels"), core.levels_used);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("16 million values: the page's metrics equal the CLI's", async () => {
    const app = await freshPage();
    const file = await synth(app, "normal", 16000000, 3);
    for (const flags of [["--bits", "4"], ["--bits", "6", "--symmetric"]]) {
      if (flags.includes("--symmetric")) await app.select("scheme", "symmetric");
      await app.set("bits", flags[1]);
      const core = cli(file, flags);
      await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, `16M ${flags.join(" ")}`, 30000);
      assertSameMetrics(await app.metrics(), core, `16M ${flags.join(" ")}`);
    }
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("a long background row the knobs make stale gives way: the views keep the CLI's figures and get every worker back", async () => {
    const app = await freshPage();
    const file = await synth(app, "normal", 4000000, 5);
    const figure = async (preset) => {
      const core = cli(file, ["--preset", preset]);
      await app.select("preset", preset);
      await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, `${preset} as the CLI`, 30000);
      assertSameMetrics(await app.metrics(), core, preset);
    };
    await figure("nvfp4");
    // Once the knobs rest, NVFP4's calibrator rows start; those searching two-level scales run
    // whole on one worker for a long while. A change makes them stale: that worker is stopped
    // and starts again with the data after the view (from 2M values), and the rows of a table
    // that no longer applies (q8_0 has no calibrators) are dropped.
    await app.page.waitForTimeout(1200);
    await figure("q8_0");
    await app.page.waitForTimeout(2500);
    await figure("int4-g32");
    await app.until(async () => /by 2 workers/.test(await app.text("compute-time")), "every worker back", 20000);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("cancel stops a long job and keeps the previous view", async () => {
    const app = await freshPage();
    await synth(app, "normal", 4000000, 2);
    const before = await app.metrics();
    // A 256-centroid codebook of 2-D sub-vectors over 4M values takes seconds.
    await app.select("format", "kmeans");
    await app.until(async () => (await app.text("metric-bpv")).startsWith("4.0"), "the 16-level codebook's view");
    // Sub-vectors of 2 at 16 centroids first (quick), then 256 centroids: one long job, which
    // trains on all 2M sub-vectors as the CLI does (seconds in wasm; cancelled well before).
    await app.set("vector-dim", 2);
    await app.until(async () => (await app.text("metric-bpv")).startsWith("2.0"), "the 2-D codebook's view");
    const shown = await app.metrics();
    await app.set("levels", 256);
    await app.id("progress").waitFor({ timeout: 15000 });
    assert.match(await app.text("job-progress"), /Quantizing|Cancel/);
    await app.id("cancel").click();
    await app.until(async () => (await app.id("job-progress").count()) === 0, "progress gone");
    // The view and the settings are those shown before the long job.
    const after = await app.metrics();
    assert.deepEqual(after, shown);
    assert.notDeepEqual(after, before);
    assert.equal(await app.text("levels"), "16");
    assert.equal(await app.text("vector-dim"), "2");
    // The engine works again.
    await app.select("format", "int");
    await app.until(async () => (await app.text("format")) === "int", "int again");
    await app.until(async () => (await app.number("metric-mse")) === before.mse, "int view again", 20000);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("a worker that fails is reported and replaced, and the last good view stays", async () => {
    const app = await freshPage("?debug");
    await app.set("bits", 5);
    await app.until(async () => (await app.text("metric-levels-available")) === "32", "5 bits");
    const good = await app.metrics();
    await app.id("debug-crash").click();
    await app.set("bits", 3);
    await app.until(async () => (await app.text("error-banner")).includes("restarted"), "the failure reported", 15000);
    assert.deepEqual(await app.metrics(), good, "the last good view stays");
    assert.equal(await app.number("bits"), 5, "the settings of the view shown");
    // The new workers answer.
    await app.set("bits", 3);
    await app.until(async () => (await app.text("metric-levels-available")) === "8", "3 bits after the restart", 20000);
    await app.page.close();
  });
});
