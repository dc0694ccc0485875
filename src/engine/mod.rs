//! The compute engine: the page's work runs in Web Workers, off the main thread.
//!
//! `protocol` the messages, `service` what a worker does with them (pure, tested natively),
//! `client` the page's side (which worker holds what, which job runs, latest wins, faults),
//! `web` the browser glue (Web Workers on the page side, the worker's entry point).

pub mod client;
pub mod protocol;
pub mod service;
#[cfg(target_arch = "wasm32")]
pub mod web;
