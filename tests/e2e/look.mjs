// Ad-hoc look at states of the page (not a test): node tests/e2e/look.mjs <outdir>
import { serve } from "./server.mjs";
import { launch } from "./browser.mjs";
const out = process.argv[2] || "/tmp/shots";
const server = await serve("dist");
const context = await launch();
try {
  for (const [name, width, height] of [["w1280", 1280, 800], ["w390", 390, 844]]) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height });
    await page.goto(server.url + "/");
    await page.getByTestId("metric-mse").waitFor();
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `${out}/${name}-default.png`, fullPage: true });
    if (name === "w390") {
      const h = await page.evaluate(() => document.documentElement.scrollHeight);
      for (let y = 0, i = 0; y < h && i < 6; y += 1400, i++) {
        await page.screenshot({ path: `${out}/${name}-part${i}.png`, fullPage: true, clip: { x: 0, y, width: 390, height: Math.min(1400, h - y) } });
      }
    }
    if (name === "w1280") {
      await page.locator(".order-transfer").screenshot({ path: `${out}/${name}-transfer.png` });
      await page.locator(".order-formats").screenshot({ path: `${out}/${name}-formats.png` });
      await page.getByTestId("preset").selectOption("mxfp4");
      await page.waitForTimeout(1200);
      await page.getByTestId("histogram").screenshot({ path: `${out}/${name}-mxfp4-hist.png` });
      await page.locator(".order-histogram").screenshot({ path: `${out}/${name}-mxfp4-panel.png` });
    }
    await page.close();
  }
} finally {
  await context.close();
  await server.close();
}
