//! The engine's browser glue: the page's Web Workers ([`start_engine`]) and the worker's own entry
//! point ([`worker_main`], run by `src/bin/worker.rs`).
//!
//! Messages are JS objects made by `serde-wasm-bindgen` (JSON cannot carry the ±∞ of an exact
//! SQNR or an overflowed error; u64 counts travel as BigInt). A dropped file goes as its `File`
//! handle (structured-cloned, not read by the page); sample bytes are copied once per worker into a
//! fresh buffer that is then transferred, not cloned again.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::client::{Attachment, Engine, Port, PortFactory, Sink};
use super::protocol::{Request, Response};
use super::service::{Attached, ByteSource, Service};

/// The worker's loader script, relative to the page (it starts `quantscope-worker.js`).
pub const WORKER_URL: &str = "assets/worker-loader.js";

/// The most workers started: more gave nothing on the machines measured (2 cores: 2 workers ran a
/// 16M pass in ~45 ms against ~80 ms for one), and each holds a copy of the data.
pub const MAX_WORKERS: usize = 4;

fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true)
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, String> {
    value.serialize(&serializer()).map_err(|e| e.to_string())
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A Web Worker as a [`Port`].
struct WebPort {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl Port for WebPort {
    fn post(&self, request: &Request, attachment: &Attachment) {
        let message = Object::new();
        match to_js(request) {
            Ok(r) => set(&message, "request", &r),
            Err(e) => leptos::logging::error!("request not sent: {e}"),
        }
        let sent = match attachment {
            Attachment::None => self.worker.post_message(&message),
            Attachment::File(f) => {
                set(&message, "file", f);
                self.worker.post_message(&message)
            }
            Attachment::Files(files) => {
                set(&message, "files", &files.iter().collect::<Array>());
                self.worker.post_message(&message)
            }
            Attachment::Bytes(bytes) => {
                let buffer = Uint8Array::from(bytes.as_slice()).buffer();
                set(&message, "bytes", &buffer);
                self.worker
                    .post_message_with_transfer(&message, &Array::of1(&buffer))
            }
        };
        if let Err(e) = sent {
            leptos::logging::error!("postMessage: {e:?}");
        }
    }

    fn terminate(&self) {
        self.worker.terminate();
    }
}

/// A worker that could not even be created: it answers with the reason.
struct DeadPort;

impl Port for DeadPort {
    fn post(&self, _: &Request, _: &Attachment) {}
    fn terminate(&self) {}
}

fn spawn(cell: &Rc<RefCell<Option<Engine>>>, index: usize, generation: u32) -> Box<dyn Port> {
    let receive = {
        let cell = Rc::clone(cell);
        move |response: Response| {
            let engine = cell.borrow().clone();
            if let Some(engine) = engine {
                engine.receive(index, generation, response);
            }
        }
    };
    let worker = match web_sys::Worker::new(WORKER_URL) {
        Ok(w) => w,
        Err(e) => {
            let message = format!("{e:?}");
            let receive = receive.clone();
            leptos::prelude::set_timeout(
                move || receive(Response::InitError { message }),
                std::time::Duration::ZERO,
            );
            return Box::new(DeadPort);
        }
    };
    let on_message = {
        let receive = receive.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            match serde_wasm_bindgen::from_value::<Response>(ev.data()) {
                Ok(r) => receive(r),
                Err(e) => receive(Response::Panic {
                    message: format!("an answer the page cannot read ({e})"),
                }),
            }
        })
    };
    let on_error =
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
            // Out of memory, or the trap after a panic (whose hook has posted the message first).
            receive(Response::Panic {
                message: ev.message(),
            })
        });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Box::new(WebPort {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// Starts the compute workers (one per core, at most [`MAX_WORKERS`]) with `sink` receiving the
/// results.
pub fn start_engine(sink: Box<dyn Sink>) -> Engine {
    let cell: Rc<RefCell<Option<Engine>>> = Rc::default();
    let window = web_sys::window();
    // `?workers=N` in the address sets the count (benchmarks compare 1 and 2).
    let asked = window
        .as_ref()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| {
            q.trim_start_matches('?')
                .split('&')
                .find_map(|kv| kv.strip_prefix("workers=")?.parse::<usize>().ok())
        });
    let cores = window
        .as_ref()
        .map(|w| w.navigator().hardware_concurrency() as usize)
        .unwrap_or(1);
    let workers = asked.unwrap_or(cores).clamp(1, MAX_WORKERS);
    let factory: PortFactory = {
        let cell = Rc::clone(&cell);
        Box::new(move |index, generation| spawn(&cell, index, generation))
    };
    let now = Box::new(|| {
        web_sys::window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    });
    let next_frame = Box::new(|f: Box<dyn FnOnce()>| leptos::prelude::request_animation_frame(f));
    let engine = Engine::new(workers, factory, sink, now, next_frame);
    *cell.borrow_mut() = Some(engine.clone());
    let ticking = engine.clone();
    let _ = leptos::prelude::set_interval_with_handle(
        move || ticking.tick(),
        std::time::Duration::from_millis(100),
    );
    engine
}

/// A `File` read slice by slice with `FileReaderSync` (workers may read synchronously).
struct FileSource(web_sys::File);

impl ByteSource for FileSource {
    fn len(&self) -> u64 {
        self.0.size() as u64
    }

    fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let reader = web_sys::FileReaderSync::new().map_err(|e| format!("{e:?}"))?;
        let part = self
            .0
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| format!("{e:?}"))?;
        let buffer = reader
            .read_as_array_buffer(&part)
            .map_err(|e| format!("the file could not be read ({e:?})"))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}

/// The `Uint8Array` of a file a study wrote, inside the message (`{Studied: {result: {File:
/// {bytes}}}}` as serde-wasm-bindgen lays the enums out), so its buffer can be transferred.
fn file_bytes(message: &JsValue) -> Option<Uint8Array> {
    let mut v = message.clone();
    for key in ["Studied", "result", "File", "bytes"] {
        v = Reflect::get(&v, &JsValue::from_str(key)).ok()?;
    }
    v.dyn_into::<Uint8Array>().ok()
}

fn post_to_page(scope: &web_sys::DedicatedWorkerGlobalScope, response: &Response) {
    match to_js(response) {
        Ok(v) => {
            // A file goes by transfer: a 64 MB buffer copied by postMessage costs ~120 ms.
            let sent = match file_bytes(&v) {
                Some(bytes) => scope.post_message_with_transfer(&v, &Array::of1(&bytes.buffer())),
                None => scope.post_message(&v),
            };
            if let Err(e) = sent {
                leptos::logging::error!("postMessage: {e:?}");
            }
        }
        Err(e) => {
            let fallback = Response::Panic {
                message: format!("an answer could not be sent ({e})"),
            };
            if let Ok(v) = to_js(&fallback) {
                let _ = scope.post_message(&v);
            }
        }
    }
}

/// The compute worker: holds a [`Service`], answers each message, reports its own panics.
pub fn worker_main() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        post_to_page(
            &scope,
            &Response::Panic {
                message: info.to_string(),
            },
        );
    }));
    let mut service = Service::new();
    let clock = scope.performance();
    service.set_clock(Box::new(move || {
        clock.as_ref().map_or_else(js_sys::Date::now, |p| p.now())
    }));
    let early_scope = scope.clone();
    service.set_early_sink(Box::new(move |response| {
        post_to_page(&early_scope, &response)
    }));
    let service = RefCell::new(service);
    let reply_scope = scope.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let data = ev.data();
            let get = |key: &str| {
                Reflect::get(&data, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
            };
            let request: Request = match serde_wasm_bindgen::from_value(get("request")) {
                Ok(r) => r,
                Err(e) => {
                    post_to_page(
                        &reply_scope,
                        &Response::Panic {
                            message: format!("a request the worker cannot read ({e})"),
                        },
                    );
                    return;
                }
            };
            let source = if let Ok(file) = get("file").dyn_into::<web_sys::File>() {
                Attached::One(Box::new(FileSource(file)))
            } else if let Ok(files) = get("files").dyn_into::<Array>() {
                Attached::Many(
                    files
                        .iter()
                        .filter_map(|f| f.dyn_into::<web_sys::File>().ok())
                        .map(|f| (f.name(), Box::new(FileSource(f)) as Box<dyn ByteSource>))
                        .collect(),
                )
            } else if let Ok(buffer) = get("bytes").dyn_into::<js_sys::ArrayBuffer>() {
                Attached::One(Box::new(Uint8Array::new(&buffer).to_vec()))
            } else {
                Attached::None
            };
            let job = request.job();
            let clock = reply_scope.performance();
            let now = move || clock.as_ref().map_or_else(js_sys::Date::now, |p| p.now());
            let started = now();
            let mut last = js_sys::Date::now();
            let progress_scope = reply_scope.clone();
            let mut progress = move |done: f64, what: &str| {
                // At most ten reports a second.
                let now = js_sys::Date::now();
                if now - last >= 100.0 {
                    last = now;
                    post_to_page(
                        &progress_scope,
                        &Response::Progress {
                            job,
                            done,
                            what: what.to_string(),
                        },
                    );
                }
            };
            let mut response = service.borrow_mut().handle(request, source, &mut progress);
            if let Response::Part { ms, .. } | Response::Swept { ms, .. } = &mut response {
                *ms = now() - started;
            }
            post_to_page(&reply_scope, &response);
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post_to_page(&scope, &Response::Ready);
}
