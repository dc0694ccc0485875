//! Entry point of the web app: install the panic reporter, mount the shell.

fn main() {
    quantscope::install_panic_reporter();
    leptos::mount::mount_to_body(quantscope::app::App);
}
