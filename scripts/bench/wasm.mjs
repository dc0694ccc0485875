// The same core workloads natively and as WebAssembly in Node (V8, Chromium's engine), side by
// side: `node scripts/bench/wasm.mjs [N]` (builds the release wasm and the native example first).
// The wasm build uses the page's flags (SIMD128, .cargo/config.toml). Natively it runs twice: as
// the CLI is built (target-cpu=native: AVX2 on the build machine, 256-bit vectors), and for the
// baseline x86-64 (SSE2: 128-bit vectors like wasm's SIMD128) — the same code for a comparable
// machine.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";

const n = Number(process.argv[2] || 1 << 20);
const cargo = (args, env = process.env) =>
  execFileSync("cargo", args, { stdio: ["ignore", "pipe", "inherit"], env }).toString();

cargo(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "quantscope-wasm-bench"]);
mkdirSync("target/wasm-bench", { recursive: true });
// wasm-bindgen's Node target is CommonJS; this repository's package.json says "module".
writeFileSync("target/wasm-bench/package.json", '{ "type": "commonjs" }\n');
execFileSync("wasm-bindgen", ["--target", "nodejs", "--out-dir", "target/wasm-bench",
  "target/wasm32-unknown-unknown/release/quantscope_wasm_bench.wasm"]);
const example = ["run", "--release", "-q", "-p", "quantscope-core", "--features", "workloads", "--example", "workloads"];
const last = (text) => JSON.parse(text.trim().split("\n").pop());
const native = last(cargo([...example, "--", String(n)]));
// RUSTFLAGS replaces the config's target-cpu=native; its own target dir keeps both builds.
const baseline = last(cargo([...example, "--target-dir", "target/baseline", "--", String(n)],
  { ...process.env, RUSTFLAGS: "-C target-cpu=x86-64" }));
const require = createRequire(import.meta.url);
const wasm = JSON.parse(require("../../target/wasm-bench/quantscope_wasm_bench.js").run(n));

let commit = "";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"]).toString().trim();
} catch {
  // not a checkout
}
console.log(`# ${n} values, median of 15; commit ${commit}; ${new Date().toISOString()}`);
console.log("| workload | native, target-cpu=native (ms) | native, baseline x86-64 (ms) | wasm SIMD128 in V8 (ms) | wasm / native | wasm / baseline |");
console.log("|---|---|---|---|---|---|");
for (const [name, ms] of Object.entries(native)) {
  const [b, w] = [baseline[name], wasm[name]];
  console.log(`| ${name} | ${ms.toFixed(2)} | ${b.toFixed(2)} | ${w.toFixed(2)} | ${(w / ms).toFixed(2)}× | ${(w / b).toFixed(2)}× |`);
}
