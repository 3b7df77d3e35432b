//! Handlebars templates from `templates/`, compiled into the binary so it runs from anywhere.

use handlebars::Handlebars;
use serde::Serialize;

use crate::error::WebError;

pub struct Templates(Handlebars<'static>);

const PAGES: &[(&str, &str)] = &[
    ("layout", include_str!("../../../templates/layout.hbs")),
    (
        "web_applications",
        include_str!("../../../templates/web_applications.hbs"),
    ),
    (
        "edit_record",
        include_str!("../../../templates/edit_record.hbs"),
    ),
    ("login", include_str!("../../../templates/login.hbs")),
    ("callback", include_str!("../../../templates/callback.hbs")),
    ("users", include_str!("../../../templates/users.hbs")),
    (
        "account_password",
        include_str!("../../../templates/account_password.hbs"),
    ),
    (
        "my_connections",
        include_str!("../../../templates/my_connections.hbs"),
    ),
    ("audit", include_str!("../../../templates/audit.hbs")),
    ("import", include_str!("../../../templates/import.hbs")),
    (
        "import_report",
        include_str!("../../../templates/import_report.hbs"),
    ),
    ("messages", include_str!("../../../templates/messages.hbs")),
    ("message", include_str!("../../../templates/message.hbs")),
    (
        "message_new",
        include_str!("../../../templates/message_new.hbs"),
    ),
];

impl Templates {
    pub fn load() -> Result<Self, WebError> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        for (name, text) in PAGES {
            registry
                .register_template_string(name, *text)
                .map_err(|e| WebError::Template(e.to_string()))?;
        }
        Ok(Self(registry))
    }

    pub fn render(&self, page: &str, data: &impl Serialize) -> Result<String, WebError> {
        self.0
            .render(page, data)
            .map_err(|e| WebError::Template(e.to_string()))
    }
}
