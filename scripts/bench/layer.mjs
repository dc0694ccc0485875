// The layer lab's methods natively and as WebAssembly in Node (V8, Chromium's engine, the same
// code the page's compute worker runs): `node scripts/bench/layer.mjs [OUT IN TOKENS]`, default
// issue 14's 4096 × 4096 layer with 512 tokens, int4 per output channel. One run each (they take
// seconds); the native side is the time_layer example, which also times GPTQ's phases.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";

const [out, inputs, tokens] = process.argv.slice(2).map(Number);
const dims = out ? [out, inputs, tokens] : [4096, 4096, 512];
const cargo = (args) => execFileSync("cargo", args, { stdio: ["ignore", "pipe", "inherit"] }).toString();
cargo(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "quantscope-wasm-bench"]);
mkdirSync("target/wasm-bench", { recursive: true });
writeFileSync("target/wasm-bench/package.json", '{ "type": "commonjs" }\n');
execFileSync("wasm-bindgen", ["--target", "nodejs", "--out-dir", "target/wasm-bench",
  "target/wasm32-unknown-unknown/release/quantscope_wasm_bench.wasm"]);
let commit = "";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
} catch {
  // not a checkout
}
console.log(`# layer ${dims[0]} × ${dims[1]}, ${dims[2]} tokens, int4 per channel; commit ${commit}; ${new Date().toISOString()}`);
console.log("## native (time_layer)");
console.log(cargo(["run", "--release", "-q", "-p", "quantscope-core", "--example", "time_layer", "--", ...dims.map(String)]).trim());
const require = createRequire(import.meta.url);
const wasm = require("../../target/wasm-bench/quantscope_wasm_bench.js");
console.log("## wasm SIMD128 in V8");
for (const m of (process.env.METHODS || "rtn,gptq,awq").split(",")) {
  console.log(`${m.padEnd(5)} ${wasm.layer(dims[0], dims[1], dims[2], m).toFixed(0).padStart(8)} ms`);
}
