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
    await page.getByTestId("dist-select").selectOption("laplace");
    await page.getByTestId("bits").fill("3");
    await page.waitForTimeout(300);
    const full = process.argv.includes("--full");
    await page.screenshot({ path: `docs/screenshot-${name}.png`, fullPage: full });
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
