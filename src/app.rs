//! The application shell.

use leptos::prelude::*;

use crate::components::ab_panel::AbPanel;
use crate::components::bits_sweep::BitsSweep;
use crate::components::calibrator_table::CalibratorTable;
use crate::components::clip_sweep::ClipSweep;
use crate::components::controls::Controls;
use crate::components::data_source::DataSource;
use crate::components::diff_panel::DiffPanel;
use crate::components::dynamic_static::DynamicStatic;
use crate::components::error_banner::ErrorBanner;
use crate::components::export_panel::ExportPanel;
use crate::components::formats_table::FormatsTable;
use crate::components::formula_panel::FormulaPanel;
use crate::components::granularity_view::GranularityView;
use crate::components::histogram_view::HistogramView;
use crate::components::int_view::IntView;
use crate::components::job_progress::JobProgress;
use crate::components::layer_lab::LayerLab;
use crate::components::metrics_panel::MetricsPanel;
use crate::components::model_view::ModelView;
use crate::components::number_line::NumberLineView;
use crate::components::tour::{LearnButton, Tour};
use crate::components::transfer_view::TransferView;
use crate::components::vector_view::VectorView;
use crate::state::provide_app_state;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    crate::theme::Theme::provide();
    let state = provide_app_state();
    #[cfg(target_arch = "wasm32")]
    state.attach(crate::engine::web::start_engine(Box::new(
        crate::state::PageSink(state),
    )));
    #[cfg(not(target_arch = "wasm32"))]
    let _ = state;
    view! {
        <header class="top">
            <h1>"Quantscope"</h1>
            <p class="tagline">"See what quantization does to your numbers — live, in your browser, with nothing uploaded."</p>
            <div class="top-buttons">
                <LearnButton />
                <crate::theme::ThemeToggle />
            </div>
        </header>
        <ErrorBanner />
        <JobProgress />
        <main class="layout">
            <aside class="side">
                <DataSource />
                <Controls />
            </aside>
            <div class="views">
                <HistogramView />
                <MetricsPanel />
                <TransferView />
                <CalibratorTable />
                <ClipSweep />
                <BitsSweep />
                <GranularityView />
                <DynamicStatic />
                <AbPanel />
                <VectorView />
                <FormulaPanel />
                <NumberLineView />
                <FormatsTable />
                <LayerLab />
                <ModelView />
                <IntView />
                <DiffPanel />
                <ExportPanel />
            </div>
        </main>
        <footer class="foot">
            "Quantscope runs entirely in this page (Rust compiled to WebAssembly). Sample weights: all-MiniLM-L6-v2, Apache-2.0."
        </footer>
        <Tour />
    }
}
