//! The 2-D picture of a vector codebook (sub-vector length 2): pairs of consecutive values as
//! points, the learned centroids, and the region each centroid wins.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::{draw_each_frame, fit_canvas};
use crate::charts::voronoi::{draw_voronoi, voronoi_chart};
use crate::format;
use crate::state::use_app_state;

/// The Voronoi panel, shown only for 2-D codebooks.
#[component]
pub fn VectorView() -> impl IntoView {
    let state = use_app_state();
    let view_data = Memo::new(move |_| {
        state
            .analysis
            .get()
            .and_then(|a| a.vector.clone())
            .map(|v| (voronoi_chart(&v), v.centroids.len()))
    });
    let canvas_ref = NodeRef::<Canvas>::new();
    let track = move || {
        view_data.track();
        canvas_ref.track();
    };
    let draw = move || {
        let (Some((chart, _)), Some(canvas)) =
            (view_data.get_untracked(), canvas_ref.get_untracked())
        else {
            return;
        };
        let (scale, _) = fit_canvas(&canvas);
        if let Err(e) = draw_voronoi(canvas, &chart, scale) {
            leptos::logging::error!("voronoi: {e}");
        }
    };
    draw_each_frame(track, draw);
    let caption = move || {
        view_data.get().map(|(c, k)| {
            format!(
                "{} centroids (black crosses) and {} of the pairs (dots). Every pair inside a coloured cell is replaced by that cell's centroid: the cells are the Voronoi regions of the codebook.",
                format::count(k),
                format::count(c.points.len())
            )
        })
    };
    view! {
        <Show when=move || view_data.with(Option::is_some)>
            <section class="panel chart-panel order-vector" aria-labelledby="vector-title">
                <h2 id="vector-title">"Vector codebook (pairs of values)"</h2>
                <canvas
                    class="chart chart-square"
                    data-testid="voronoi"
                    node_ref=canvas_ref
                    aria-label="Scatter of value pairs with the codebook's centroids and their Voronoi cells"
                ></canvas>
                <p class="help">{caption}</p>
            </section>
        </Show>
    }
}
