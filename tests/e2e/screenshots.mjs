// Writes the README's screenshots of the built app (`node tests/e2e/screenshots.mjs` after
// `trunk build --release`):
//   docs/screenshot-laptop.png   1280×800, the page as it opens (outliers at 4 bits)
//   docs/screenshot-phone.png    390×844, the same, whole page
//   docs/screenshot-group.png    1280, MiniLM's FFN output weights as MXFP4: block #0's histogram
//   docs/screenshot-formats.png  1280, the same tensor, whole page (formats table, bit inspector)
//   docs/screenshot-calibrators-{laptop,phone}.png  the "Calibrators compared" panel as it opens
//   docs/screenshot-bits-{laptop,phone}.png  the "Error against bit width" panel as it opens
//   docs/screenshot-clips-{laptop,phone}.png the "Error against the clipping range" panel
//   docs/screenshot-granularity-{laptop,phone}.png channel ranges and the group-size sweep
//   docs/screenshot-stream-{laptop,phone}.png  dynamic vs static ranges over a drifting stream
//   docs/screenshot-dark-laptop.png  the opening view in the dark theme
//   docs/screenshot-ab-{laptop,phone}.png  A/B: the opening view pinned as A, B per channel
//   docs/screenshot-gguf-{laptop,phone}.png  a GGUF file of llama.cpp's writer: the data panel
//   docs/screenshot-q4k-{laptop,phone}.png  MiniLM's FFN output weights as Q4_K: histogram, formulas
//   docs/screenshot-lab-{laptop,phone}.png  the layer lab: MiniLM's layer 0 at int4 per channel with
//     real activations, Hadamard-rotated in blocks of 512, every method
//   docs/screenshot-model-{laptop,phone}.png  the whole-model allocation of a small three-matrix
//     checkpoint at 4.5 bits per value
//   docs/screenshot-int-{laptop,phone}.png  integer-only arithmetic, one output step by step
//   docs/screenshot-diff-{laptop,phone}.png "What did this quant do?": the same weights against
//     their Q4_K GGUF copy written by the CLI (QUANTSCOPE_BIN, default target/debug/quantscope)
//   docs/screenshot-learn-numberline-{laptop,phone}.png  learn mode, step 2: the number line
//   docs/screenshot-learn-{laptop,phone}.png  learn mode, step 4: clipping and calibration
// docs/screenshots/before-issue-11-*.png are the same views before issue 11's changes.
import { serve } from "./server.mjs";
import { launch } from "./browser.mjs";
import { safetensorsF32, values } from "./fixtures.mjs";
import { execFileSync } from "node:child_process";
import { mkdtempSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const cli = process.env.QUANTSCOPE_BIN ?? "target/debug/quantscope";
// A small checkpoint for the model view: three matrices of different spreads and a bias.
const model = safetensorsF32([
  { name: "layers.0.weight", shape: [128, 256], values: values(128 * 256, 41, 0.05) },
  { name: "layers.1.weight", shape: [256, 128], values: values(256 * 128, 42, 0.3) },
  { name: "layers.2.weight", shape: [64, 256], values: values(64 * 256, 43, 1.0) },
  { name: "layers.0.bias", shape: [128], values: values(128, 44) },
]);
const work = mkdtempSync(join(tmpdir(), "quantscope-shots-"));
const sample = join(work, "minilm-l0-ffn-output.npy");
copyFileSync("assets/samples/minilm-l0-ffn-output.npy", sample);
execFileSync(cli, ["export", sample, "--format", "q4_k", "--out", join(work, "ffn-q4_k.gguf")]);

const server = await serve("dist");
const context = await launch();
const settle = (page) => page.waitForTimeout(1500);
try {
  for (const [name, width, height, full] of [
    ["laptop", 1280, 800, false],
    ["phone", 390, 844, true],
  ]) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(server.url + "/");
    await page.getByTestId("opening-note").waitFor();
    await settle(page);
    await page.screenshot({ path: `docs/screenshot-${name}.png`, fullPage: full });
    await page.locator('[data-testid="calibrator-table"] tbody tr[data-method="manual"]').waitFor();
    await settle(page);
    await page.locator(".order-calibrators").screenshot({ path: `docs/screenshot-calibrators-${name}.png` });
    await page.locator('[data-testid="sweep-bits-table"] tbody tr[data-bits="16"]').waitFor({ state: "attached" });
    await settle(page);
    await page.locator(".order-bits").screenshot({ path: `docs/screenshot-bits-${name}.png` });
    await page.locator('[data-testid="sweep-clip-table"] tbody tr[data-fraction="0.015625"]').waitFor({ state: "attached" });
    await settle(page);
    await page.locator(".order-clips").screenshot({ path: `docs/screenshot-clips-${name}.png` });
    await page.locator('[data-testid="sweep-groups-table"] tbody tr[data-granularity="8"]').waitFor({ state: "attached" });
    await page.getByTestId("channel-ranges").waitFor();
    await settle(page);
    await page.locator(".order-granularity").screenshot({ path: `docs/screenshot-granularity-${name}.png` });
    await page.getByTestId("dynamic-static").waitFor();
    await settle(page);
    await page.locator(".order-stream").screenshot({ path: `docs/screenshot-stream-${name}.png` });
    await page.getByTestId("compare-pin").click();
    await page.getByTestId("granularity").selectOption("channel");
    await page.getByTestId("ab-table").waitFor();
    await settle(page);
    await page.locator(".order-ab").screenshot({ path: `docs/screenshot-ab-${name}.png` });
    await page.getByTestId("compare-unpin").click();
    await page.getByTestId("granularity").selectOption("tensor");
    await settle(page);
    if (name === "laptop") {
      // The same view in the dark theme (the system's setting).
      const dark = await context.newPage();
      await dark.emulateMedia({ colorScheme: "dark" });
      await dark.setViewportSize({ width, height });
      await dark.goto(server.url + "/");
      await dark.getByTestId("opening-note").waitFor();
      await settle(dark);
      await dark.screenshot({ path: "docs/screenshot-dark-laptop.png" });
      await dark.close();
      // A real weight tensor with an outlier, as MXFP4: the histogram shows block #0's own values.
      await page.getByTestId("source-file").click();
      await page.getByTestId("sample-select").selectOption("minilm-l0-ffn-output.npy");
      await page.getByTestId("data-shape").filter({ hasText: "384 × 1536" }).waitFor();
      await page.getByTestId("preset").selectOption("mxfp4");
      await page.getByTestId("format").filter({ hasText: "fp4-e2m1" }).waitFor();
      await settle(page);
      await page.locator(".order-histogram").screenshot({ path: "docs/screenshot-group.png" });
      await page.screenshot({ path: "docs/screenshot-formats.png", fullPage: true });
    }
    // llama.cpp: a GGUF file's tensors and description, and a weight matrix as Q4_K.
    await page.getByTestId("source-file").click();
    await page.getByTestId("file-input").setInputFiles("crates/quant/tests/golden/gguf-py.gguf");
    await page.getByTestId("file-description").waitFor();
    await page.getByTestId("tensor-select").selectOption("blk.0.ffn_down.weight");
    await page.getByTestId("data-shape").filter({ hasText: "2 × 256" }).waitFor();
    await settle(page);
    await page.locator(".order-data").screenshot({ path: `docs/screenshot-gguf-${name}.png` });
    await page.getByTestId("sample-select").selectOption("minilm-l0-ffn-output.npy");
    await page.getByTestId("data-shape").filter({ hasText: "384 × 1536" }).waitFor();
    await page.getByTestId("preset").selectOption("q4_k");
    await page.getByTestId("metric-bpv").filter({ hasText: "4.5" }).waitFor();
    await settle(page);
    const shots = [".order-histogram", ".order-formula"];
    for (const [i, sel] of shots.entries()) {
      await page.locator(sel).screenshot({ path: `docs/screenshot-q4k-${name}${i ? "-formula" : ""}.png` });
    }
    {
      const lab = await context.newPage();
      await lab.setViewportSize({ width, height });
      await lab.goto(server.url + "/");
      await lab.getByTestId("opening-note").waitFor();
      await lab.getByTestId("lab-open").click();
      await lab.getByTestId("data-shape").filter({ hasText: "384 × 1536" }).waitFor();
      await lab.getByTestId("scheme").selectOption("symmetric");
      await lab.getByTestId("granularity").selectOption("channel");
      await lab.getByTestId("lab-rotate").selectOption("512");
      await lab.getByTestId("lab-spread").filter({ hasText: "after the transform" }).waitFor({ timeout: 60000 });
      await lab.locator(".order-layer").scrollIntoViewIfNeeded();
      await settle(lab);
      await lab.locator(".order-layer").screenshot({ path: `docs/screenshot-lab-${name}.png` });
      await lab.close();
    }
    {
      const m = await context.newPage();
      await m.setViewportSize({ width, height });
      await m.goto(server.url + "/");
      await m.getByTestId("opening-note").waitFor();
      await m.getByTestId("source-file").click();
      await m.getByTestId("file-input").setInputFiles({ name: "three-layers.safetensors", mimeType: "application/octet-stream", buffer: model });
      await m.getByTestId("model-run").click();
      await m.getByTestId("model-total").waitFor({ timeout: 60000 });
      await m.locator(".order-model").scrollIntoViewIfNeeded();
      await settle(m);
      await m.locator(".order-model").screenshot({ path: `docs/screenshot-model-${name}.png` });
      await m.close();
    }
    {
      const p = await context.newPage();
      await p.setViewportSize({ width, height });
      await p.goto(server.url + "/");
      await p.getByTestId("int-m0").waitFor();
      await p.locator(".order-int").scrollIntoViewIfNeeded();
      await settle(p);
      await p.locator(".order-int").screenshot({ path: `docs/screenshot-int-${name}.png` });
      await p.close();
    }
    {
      // Learn mode: step 2 (the number line) and step 4 (clipping), as a reader sees them.
      const t = await context.newPage();
      await t.setViewportSize({ width, height });
      await t.goto(server.url + "/#learn/2");
      await t.getByTestId("tour").waitFor();
      await t.getByTestId("number-line").waitFor();
      await settle(t);
      await t.screenshot({ path: `docs/screenshot-learn-numberline-${name}.png` });
      await t.getByTestId("tour-next").click();
      await t.getByTestId("tour-next").click();
      await t.locator('[data-testid="tour"][data-step="clipping"]').waitFor();
      await t.getByTestId("sweep-clip").waitFor();
      await settle(t);
      await t.screenshot({ path: `docs/screenshot-learn-${name}.png` });
      await t.close();
    }
    await page.getByTestId("file-input").setInputFiles(sample);
    await page.getByTestId("data-shape").filter({ hasText: "384 × 1536" }).waitFor();
    await page.getByTestId("diff-input").setInputFiles(join(work, "ffn-q4_k.gguf"));
    await page.locator('[data-testid="diff-table"] tbody tr').first().waitFor();
    await page.locator(".order-diff").scrollIntoViewIfNeeded();
    await settle(page);
    await page.locator(".order-diff").screenshot({ path: `docs/screenshot-diff-${name}.png` });
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
