// The page object and helpers shared by the browser tests: every interaction goes through
// data-testid; numbers are compared with the CLI's (the core computed natively).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

export const CLI = process.env.QUANTSCOPE_BIN || "target/debug/quantscope";

/** The page object: every interaction goes through data-testid. */
export class Quantscope {
  constructor(page, origin) {
    this.page = page;
    this.origin = origin;
    this.errors = [];
    this.foreignRequests = [];
    page.on("pageerror", (e) => this.errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && this.errors.push(m.text()));
    page.on("request", (r) => {
      const url = r.url();
      if (!url.startsWith(origin + "/") && !url.startsWith("data:") && !url.startsWith("blob:")) {
        this.foreignRequests.push(url);
      }
    });
  }
  id(testid) {
    return this.page.getByTestId(testid);
  }
  async open(query = "") {
    await this.page.goto(this.origin + "/" + query);
    await this.id("metric-mse").waitFor();
  }
  /** The text of an element, or the value of a form field. */
  async text(testid) {
    const el = this.id(testid);
    const isField = await el.evaluate((e) => e instanceof HTMLInputElement || e instanceof HTMLSelectElement);
    return (isField ? await el.inputValue() : await el.textContent()).trim();
  }
  async number(testid) {
    const t = await this.text(testid);
    const v = Number(t);
    assert.ok(!Number.isNaN(v), `${testid} is not a plain number: "${t}"`);
    return v;
  }
  /** Types into a field and commits it (input, then change), like a person pressing Tab. */
  async set(testid, value) {
    const el = this.id(testid);
    await el.fill(String(value));
    await el.dispatchEvent("change");
  }
  async select(testid, value) {
    await this.id(testid).selectOption(value);
  }
  async upload(name, buffer) {
    await this.id("file-input").setInputFiles({ name, mimeType: "application/octet-stream", buffer });
  }
  /** How many pixels of canvas `testid` are not near-white (a drawn chart has thousands). */
  async inked(testid) {
    return this.page.$eval(`[data-testid="${testid}"]`, (c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;
      return n;
    });
  }
  /** Polls `check` until it returns a truthy value (or fails after `ms`). */
  async until(check, what, ms = 10000) {
    const start = Date.now();
    let last;
    while (Date.now() - start < ms) {
      try {
        last = await check();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await this.page.waitForTimeout(50);
    }
    assert.fail(`timed out waiting for ${what} (last: ${last})`);
  }
  async metrics() {
    return {
      mse: await this.number("metric-mse"),
      sqnr_db: await this.number("metric-sqnr"),
      max_abs_error: await this.number("metric-max-abs"),
      clipped_fraction: await this.number("metric-clipped"),
      bits_per_value: await this.number("metric-bpv"),
    };
  }
}

/** The CLI's JSON for `file` with `flags` (the core's numbers, computed natively). */
export function cli(file, flags = []) {
  // Block formats list every group: millions of values print tens of MB.
  const out = execFileSync(CLI, ["quantize", file, "--json", ...flags], { encoding: "utf8", maxBuffer: 1 << 30 });
  return JSON.parse(out);
}

/** Equal to the digits the page shows (6 significant digits; SQNR 5, see `closeSqnr`). */
export function close(actual, expected, what) {
  const tol = Math.max(Math.abs(expected) * 2e-5, 1e-12);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: page ${actual} vs core ${expected}`);
}

/** Equal to the 5 significant digits the page shows of an SQNR: within half a unit of the
 * fifth digit (14.40845 dB shows as 14.408, 3e-5 off: more than `close` allows). */
export function closeSqnr(actual, expected, what) {
  const unit = 10 ** (Math.floor(Math.log10(Math.max(Math.abs(expected), 1e-300))) - 4);
  const tol = Math.max(unit * 0.5 * (1 + 1e-9), 1e-12);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: page ${actual} vs core ${expected}`);
}

export function assertSameMetrics(shown, core, label) {
  close(shown.mse, core.mse, `${label} mse`);
  closeSqnr(shown.sqnr_db, core.sqnr_db, `${label} sqnr`);
  close(shown.max_abs_error, core.max_abs_error, `${label} max abs`);
  close(shown.clipped_fraction, core.clipped_fraction, `${label} clipped`);
  close(shown.bits_per_value, core.bits_per_value, `${label} bits per value`);
}

