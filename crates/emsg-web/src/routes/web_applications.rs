//! The read-only list of web applications: HTML at `/web-applications`, JSON under `/api/v1`.

use actix_web::{HttpResponse, http::header, web};
use emsg_store::web_applications as records;
use serde_json::json;

use crate::error::WebError;
use crate::state::AppState;
use crate::views::WebApplicationView;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/static/emsg.css", web::get().to(stylesheet))
        .route("/web-applications", web::get().to(page))
        .route("/api/v1/web-applications", web::get().to(list_json))
        .route("/api/v1/web-applications/{name}", web::get().to(show_json));
}

async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/web-applications"))
        .finish()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../../../static/emsg.css"))
}

async fn views(state: &AppState) -> Result<Vec<WebApplicationView>, WebError> {
    state
        .with_conn(|conn| {
            let all = records::list(conn)?;
            let names = records::names_by_id(&all);
            Ok(all
                .iter()
                .map(|r| WebApplicationView::new(r, &names))
                .collect())
        })
        .await
}

async fn page(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let applications = views(&state).await?;
    let body = state.templates.render(
        "web_applications",
        &json!({ "title": "Web applications", "applications": applications }),
    )?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

async fn list_json(state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::Ok().json(json!({ "web_applications": views(&state).await? })))
}

async fn show_json(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let name = name.into_inner();
    let view = state
        .with_conn(move |conn| {
            let all = records::list(conn)?;
            let names = records::names_by_id(&all);
            let key = records::name_key(&name);
            all.iter()
                .find(|r| r.name_key == key)
                .map(|r| WebApplicationView::new(r, &names))
                .ok_or_else(|| WebError::NotFound(format!("no web application is named `{name}`")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
