//! `/healthz` (the process answers), `/readyz` (the database answers too) and `/metrics`
//! (Prometheus text: refreshes by outcome, refresh latency, connections by status, seconds
//! until the earliest expiry — counts only, never a name or token).

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::error::WebError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok\n")
}

async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    state
        .with_conn(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| WebError::Store(e.into()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ready\n"))
}

async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let mut text = state.engine.metrics_text().await?;
    // A server started without messages has no messenger: its metrics are the engine's.
    if let Ok(messenger) = state.ctx.messenger() {
        text.push_str(
            &messenger
                .metrics_text()
                .await
                .map_err(WebError::from_send)?,
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
