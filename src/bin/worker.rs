//! The compute worker (a Web Worker built by Trunk, `data-type="worker"`): see
//! `quantscope::engine::web::worker_main`.

fn main() {
    #[cfg(target_arch = "wasm32")]
    quantscope::engine::web::worker_main();
}
