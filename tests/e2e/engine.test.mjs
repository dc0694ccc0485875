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
    // 4,096 × 1,024 normal values, per channel along the columns: 1,024 interleaved channels,
    // whose calibrator rows by search run whole on one worker for a long while.
    await app.set("synth-cols", 1024);
    const n = 4194304;
    await app.select("dist-select", "normal");
    await app.set("synth-n", n);
    await app.set("synth-seed", 5);
    await app.until(async () => (await app.text("data-shape")) === "4096 × 1024", "4096 × 1024", 60000);
    const file = join(work, "columns.npy");
    execFileSync(CLI, ["synth", "normal", "--n", String(n), "--seed", "5", "--cols", "1024", "--out", file]);
    const columns = ["--granularity", "channel", "--axis", "1"];
    const figure = async (bits, flags) => {
      const core = cli(file, ["--bits", String(bits), ...flags]);
      await app.set("bits", bits);
      await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, `${bits} bits ${flags.join(" ")} as the CLI`, 30000);
      assertSameMetrics(await app.metrics(), core, `${bits} bits ${flags.join(" ")}`);
    };
    await app.select("granularity", "channel");
    await app.until(async () => app.id("axis").isVisible(), "axis select");
    await app.select("axis", "1");
    await figure(8, columns);
    // Once the knobs rest the calibrator rows start; a change makes them stale: the worker
    // running one whole is stopped and starts again with the data after the view (from 2M
    // values), and the views keep the CLI's figures.
    await app.page.waitForTimeout(1200);
    await figure(4, columns);
    await app.page.waitForTimeout(2500);
    // Per tensor the rows go in slices: once the stopped worker is back, a view has both.
    await app.select("granularity", "tensor");
    await figure(4, []);
    await app.page.waitForTimeout(2500);
    await figure(6, []);
    await app.until(async () => /by 2 workers/.test(await app.text("compute-time")), "every worker back", 20000);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("NVFP4's calibrator rows by search measure the two-level bound in slices and equal the CLI's", async () => {
    const app = await freshPage();
    const file = await synth(app, "normal", 262144, 8);
    const core = cli(file, ["--preset", "nvfp4"]);
    await app.select("preset", "nvfp4");
    await app.until(async () => Math.abs((await app.number("metric-mse")) - core.mse) <= core.mse * 2e-5, "NVFP4 as the CLI", 30000);
    const methods = {
      percentile: ["--calibration", "percentile", "--percentile", "99.9"],
      mse: ["--calibration", "mse"],
      sqnr: ["--calibration", "sqnr", "--gamma", "3"],
      kl: ["--calibration", "kl"],
    };
    const num = async (method) =>
      Number(await app.page.locator(`[data-testid="calibrator-table"] tr[data-method="${method}"] td[data-col="mse"]`).textContent());
    for (const [method, flags] of Object.entries(methods)) {
      const want = cli(file, ["--preset", "nvfp4", ...flags]);
      await app.until(async () => Math.abs((await num(method)) - want.mse) <= want.mse * 2e-5, `the ${method} row as the CLI`, 60000);
    }
    // The min–max row is the Error panel's figure.
    assert.ok(Math.abs((await num("minmax")) - core.mse) <= core.mse * 2e-5);
    assert.deepEqual(app.errors, []);
    await app.page.close();
  });

  test("cancel stops a long job and keeps the previous view", async () => {
    const app = await freshPage();
    await synth(app, "normal", 4000000, 2);
    const before = await app.metrics();
    // A 1,024-centroid codebook of 2-D sub-vectors over 4M values takes seconds (256 centroids
    // took ~1 s on a fast machine, which sometimes ended before the click on Cancel).
    await app.select("format", "kmeans");
    await app.until(async () => (await app.text("metric-bpv")).startsWith("4.0"), "the 16-level codebook's view");
    // Sub-vectors of 2 at 16 centroids first (quick), then 1,024 centroids: one long job, which
    // trains on all 2M sub-vectors as the CLI does (seconds in wasm; cancelled well before).
    await app.set("vector-dim", 2);
    await app.until(async () => (await app.text("metric-bpv")).startsWith("2.0"), "the 2-D codebook's view");
    const shown = await app.metrics();
    await app.set("levels", 1024);
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
