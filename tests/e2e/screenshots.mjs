// Writes docs/screenshot-laptop.png (1280×800) and docs/screenshot-phone.png (390×844) of the built
// app: `node tests/e2e/screenshots.mjs` after `trunk build --release`.
import { serve } from "./server.mjs";
import { launch } from "./browser.mjs";

const server = await serve("dist");
const context = await launch();
try {
  for (const [name, width, height] of [
    ["laptop", 1280, 800],
    ["phone", 390, 844],
  ]) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(server.url + "/");
    await page.getByTestId("metric-mse").waitFor();
    // A real weight tensor with an outlier, at 4 bits: the story the tool tells best.
    await page.getByTestId("source-file").click();
    await page.getByTestId("sample-select").selectOption("minilm-l0-ffn-output.npy");
    await page.getByTestId("data-shape").filter({ hasText: "384 × 1536" }).waitFor();
    await page.getByTestId("bits").fill("4");
    await page.getByTestId("bits").dispatchEvent("change");
    await page.getByTestId("log-y").check();
    await page.waitForTimeout(500);
    const full = process.argv.includes("--full");
    await page.screenshot({ path: `docs/screenshot-${name}.png`, fullPage: full });
    if (name === "laptop") {
      // The same tensor as MXFP4, with the formats table and the bit inspector (whole page).
      await page.getByTestId("preset").selectOption("mxfp4");
      await page.getByTestId("format").filter({ hasText: "fp4-e2m1" }).waitFor();
      await page.waitForTimeout(800);
      await page.screenshot({ path: "docs/screenshot-formats.png", fullPage: true });
    }
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
