//! What the pages, the JSON API and the command line show of a record: every field but the
//! secret, which is only "set" or not.

use std::collections::BTreeMap;

use emsg_store::web_applications::WebApplication;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct WebApplicationView {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    pub redirect_url: Option<String>,
    pub client_id: Option<String>,
    /// "set" or "not set"; the value never leaves the server.
    pub client_secret: &'static str,
    pub scope: String,
    pub authorization_params: BTreeMap<String, String>,
    pub client_auth: &'static str,
    pub pkce: bool,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub code_lifetime: String,
    pub authorization_lifetime: Option<String>,
    pub user_specific: bool,
    pub exchange_source: Option<String>,
    pub exchange_url: Option<String>,
}

impl WebApplicationView {
    pub fn new(record: &WebApplication, names: &std::collections::HashMap<i64, String>) -> Self {
        Self {
            name: record.name.clone(),
            description: record.description.clone(),
            base_url: record.base_url.clone(),
            authorization_url: record.authorization_url.clone(),
            token_url: record.token_url.clone(),
            revocation_url: record.revocation_url.clone(),
            redirect_url: record.redirect_url.clone(),
            client_id: record.client_id.clone(),
            client_secret: if record.client_secret_is_set() {
                "set"
            } else {
                "not set"
            },
            scope: record.scope.clone(),
            authorization_params: record.authorization_params(),
            client_auth: record.client_auth().as_str(),
            pkce: record.pkce,
            accept: record.accept.clone(),
            content_type: record.content_type.clone(),
            code_lifetime: record.code_lifetime().to_string(),
            authorization_lifetime: record.authorization_lifetime().map(|l| l.to_string()),
            user_specific: record.user_specific,
            exchange_source: record
                .exchange_source_id
                .and_then(|id| names.get(&id).cloned()),
            exchange_url: record.exchange_url.clone(),
        }
    }
}
