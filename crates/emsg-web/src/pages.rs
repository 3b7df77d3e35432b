//! A page: a template rendered inside the layout with the user, their anti-forgery token and
//! their flash message.

use serde_json::{Value, json};

use crate::error::WebError;
use crate::session::SessionUser;
use crate::state::AppState;

/// Renders `page` inside the layout with the user, their anti-forgery token and the flash
/// message (taken: shown once).
pub(crate) fn render(
    state: &AppState,
    page: &str,
    title: &str,
    user: Option<&SessionUser>,
    mut data: Value,
) -> Result<String, WebError> {
    let flash = user.and_then(|u| u.flash.clone());
    if let Some(object) = data.as_object_mut() {
        object.insert("title".to_owned(), json!(title));
        object.insert(
            "user".to_owned(),
            user.map_or(
                Value::Null,
                |u| json!({ "name": u.name, "role": u.role.as_str(), "is_admin": u.is_admin() }),
            ),
        );
        object.insert(
            "csrf".to_owned(),
            user.map_or(Value::Null, |u| json!(u.csrf)),
        );
        object.insert("flash".to_owned(), json!(flash));
    }
    state.templates.render(page, &data)
}
