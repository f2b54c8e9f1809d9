//! `/__sim/*`: stats and reset. Never rate limited, never faulted, never counted.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::clock;
use crate::state::Shared;
use crate::stats::SimStats;

/// `GET /__sim/stats`.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Json<SimStats> {
    Json(shared.stats(clock::now()))
}

/// `POST /__sim/reset`: back to the seed data, counters zeroed.
pub(crate) async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.reset(clock::now(), clock::wall_now());
    StatusCode::NO_CONTENT
}
