//! The stylesheet and the countdown script, compiled in: no CDN, nothing fetched elsewhere.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/emsg.css", web::get().to(stylesheet))
        .route("/static/countdown.js", web::get().to(countdown))
        .route(
            "/static/fraud-prevention.js",
            web::get().to(fraud_prevention),
        );
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn stylesheet() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../../../static/emsg.css"),
    )
}

async fn countdown() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../../static/countdown.js"),
    )
}

async fn fraud_prevention() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../../static/fraud-prevention.js"),
    )
}
