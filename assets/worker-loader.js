// Starts a compute worker: Trunk builds quantscope-worker.js and quantscope-worker_bg.wasm (never
// hashed) next to index.html. A classic worker whose WebAssembly fails to start gives the page no
// event, so a failure is posted as the engine's own InitError answer; the Rust side posts "Ready".
try {
  importScripts("../quantscope-worker.js");
  wasm_bindgen({ module_or_path: "../quantscope-worker_bg.wasm" }).catch((e) => {
    postMessage({ InitError: { message: String(e) } });
  });
} catch (e) {
  postMessage({ InitError: { message: String(e) } });
}
