//! The Audit log and Import pages: roles, CSRF, filters and pagination; an import with errors
//! (located, nothing written), a dry run, Confirm, and the kept file being single-use.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use support::*;

const ADA: &str = "ada password long enough";
const FIONA: &str = "fiona password long enough";

const FILE: &str = "web_applications:
  - name: HMRC VAT sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: vat-client
    client_secret: null
    scope: read:vat write:vat
";

const GOOD: &str = "web_applications:
  - name: HMRC VAT sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: vat-client
    client_secret: null
    scope: read:vat
  - name: HMRC ITSA sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: itsa-client
    client_secret: null
    scope: read:self-assessment
";

const BAD: &str = "web_applications:
  - name: HMRC ITSA sandbox
    base_url: https://test-api.service.hmrc.gov.uk
    token_url: not a url
    client_id: itsa-client
    client_secret: null
";

fn admin_pages(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", FILE);
    add_user(&emsg, "ada", "administrator", ADA);
    add_user(&emsg, "fiona", "finance", FIONA);
    let server = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let before = emsg.export();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Anonymous: the log-in page, or 401 from the API.
        let anonymous = Browser::new(&server);
        assert_eq!(anonymous.get("/audit").await.status, 303);
        assert_eq!(anonymous.get("/import").await.status, 303);
        assert_eq!(anonymous.get("/api/v1/audit").await.status, 401);

        // Finance reads the audit log but may not import.
        let fiona = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let audit = fiona.get("/audit").await;
        assert_eq!(audit.status, 200, "{}", audit.body);
        assert!(audit.body.contains("<h1>Audit log</h1>"));
        assert_eq!(fiona.get("/import").await.status, 403);
        let csrf = fiona.csrf().await;
        let refused = fiona
            .post_multipart(
                "/import",
                &[("csrf", None, &csrf), ("file", Some("a.yaml"), GOOD)],
            )
            .await;
        assert_eq!(refused.status, 403);
        assert_eq!(
            fiona
                .post_form("/import/confirm", &[("csrf", &csrf), ("key", "x")])
                .await
                .status,
            403
        );

        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let form = ada.get("/import").await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("enctype=\"multipart/form-data\""));
        let csrf = hidden_field(&form.body, "csrf");

        // Forged CSRF: refused, nothing kept.
        let forged = ada
            .post_multipart(
                "/import",
                &[("csrf", None, "forged"), ("file", Some("a.yaml"), GOOD)],
            )
            .await;
        assert_eq!(forged.status, 403);

        // A file with an error: located, nothing written.
        let bad = ada
            .post_multipart(
                "/import",
                &[("csrf", None, &csrf), ("file", Some("bad.yaml"), BAD)],
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(
            bad.body
                .contains("bad.yaml has errors; nothing was imported"),
            "{}",
            bad.body
        );
        assert!(
            bad.body.contains("<td>4</td>"),
            "the line of token_url: {}",
            bad.body
        );
        assert!(bad.body.contains("token_url"), "{}", bad.body);
        assert_eq!(emsg.export(), before);

        // A good file: the dry run, then Confirm.
        let dry = ada
            .post_multipart(
                "/import",
                &[("csrf", None, &csrf), ("file", Some("good.yaml"), GOOD)],
            )
            .await;
        assert_eq!(dry.status, 200, "{}", dry.body);
        assert!(dry.body.contains("Dry run of good.yaml"), "{}", dry.body);
        assert!(
            dry.body
                .contains("<th scope=\"row\">HMRC ITSA sandbox</th><td>added</td>"),
            "{}",
            dry.body
        );
        assert!(
            dry.body
                .contains("<th scope=\"row\">HMRC VAT sandbox</th><td>changed</td><td>scope</td>"),
            "{}",
            dry.body
        );
        assert!(
            !dry.body.contains("itsa-client"),
            "the file is never sent back"
        );
        assert_eq!(emsg.export(), before, "a dry run writes nothing");
        let key = hidden_field(&dry.body, "key");

        // The key is bound to the session: another administrator session cannot use it.
        let ada2 = Browser::new(&server);
        assert_eq!(ada2.log_in("ada", ADA).await.status, 303);
        let csrf2 = ada2.csrf().await;
        let stolen = ada2
            .post_form("/import/confirm", &[("csrf", &csrf2), ("key", &key)])
            .await;
        assert_eq!(stolen.status, 409, "{}", stolen.body);
        assert_eq!(
            ada.post_form("/import/confirm", &[("csrf", "forged"), ("key", &key)])
                .await
                .status,
            403
        );

        let done = ada
            .post_form("/import/confirm", &[("csrf", &csrf), ("key", &key)])
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(
            done.body
                .contains("The import was written: 1 added, 1 changed, 0 unchanged"),
            "{}",
            done.body
        );
        assert!(emsg.export().contains("HMRC ITSA sandbox"));
        let again = ada
            .post_form("/import/confirm", &[("csrf", &csrf), ("key", &key)])
            .await;
        assert_eq!(again.status, 409, "single use: {}", again.body);

        // The pasted-text path: unchanged now, nothing to confirm.
        let same = ada
            .post_multipart(
                "/import",
                &[
                    ("csrf", None, &csrf),
                    ("file", Some(""), ""),
                    ("text", None, GOOD),
                ],
            )
            .await;
        assert_eq!(same.status, 200, "{}", same.body);
        assert!(same.body.contains("Nothing to import"), "{}", same.body);

        // 55 more audit entries, to page through.
        let api_csrf = ada.csrf().await;
        for i in 0..55 {
            let set = ada
                .post_json(
                    "/api/v1/web-applications/HMRC%20VAT%20sandbox/client-secret",
                    Some(&api_csrf),
                    &serde_json::json!({ "client_secret": format!("audit-secret-{i}") }),
                )
                .await;
            assert!(set.status < 300, "{}", set.body);
        }
        let page1 = fiona.get("/audit?action=set-client-secret&user=ada").await;
        assert_eq!(page1.status, 200, "{}", page1.body);
        assert_eq!(page1.body.matches("<td>set-client-secret</td>").count(), 50);
        assert!(page1.body.contains("<td>ada</td>"), "user names, not ids");
        assert!(
            !page1.body.contains("Newest entries"),
            "the first page links to no newer one"
        );
        let next = page1
            .body
            .split("<a rel=\"next\" href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("an Older entries link: {}", page1.body))
            .replace("&amp;", "&")
            .replace("&#x3D;", "=");
        assert!(
            next.starts_with("/audit?user=ada&action=set-client-secret&before="),
            "filters kept in the links: {next}"
        );
        let page2 = fiona.get(&next).await;
        assert_eq!(page2.body.matches("<td>set-client-secret</td>").count(), 5);
        assert!(page2.body.contains("Newest entries"));
        assert!(!page2.body.contains("Older entries"), "{}", page2.body);

        let imports = fiona
            .get("/audit?action=import&record=HMRC+ITSA+sandbox")
            .await;
        assert!(
            imports.body.contains("<td>HMRC ITSA sandbox</td>"),
            "{}",
            imports.body
        );
        assert!(!imports.body.contains("<td>set-client-secret</td>"));

        let json = fiona.get("/api/v1/audit?action=set-client-secret").await;
        assert_eq!(json.status, 200, "{}", json.body);
        let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(json["entries"].as_array().unwrap().len(), 50);
        let next = json["next"].as_str().unwrap();
        assert_eq!(
            next,
            format!(
                "/api/v1/audit?action=set-client-secret&before={}",
                json["next_before"]
            )
        );
        let json = fiona.get(next).await;
        let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(json["entries"].as_array().unwrap().len(), 5);
        assert_eq!(json["entries"][0]["who"], "ada");
        assert_eq!(json["next"], serde_json::Value::Null);
        assert_eq!(
            fiona.get("/api/v1/audit?page=1").await.status,
            200,
            "the first page by its old name"
        );
        let numbered = fiona.get("/api/v1/audit?page=2").await;
        assert_eq!(numbered.status, 400);
        assert!(numbered.body.contains("before=ID"), "{}", numbered.body);
        assert_eq!(fiona.get("/api/v1/audit?page=zero").await.status, 400);
        assert_eq!(fiona.get("/api/v1/audit?before=zero").await.status, 400);

        let all = format!("{}{}{}", fiona.bodies(), ada.bodies(), server.stderr());
        for i in 0..55 {
            assert_no_secret(&all, &[&format!("audit-secret-{i}")], "pages and log");
        }
    });
}

on_both_backends!(admin_pages);

/// The edit form's fields for the VAT record of `GOOD`, with `changes` over them.
fn vat_form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("name", "HMRC VAT sandbox"),
        ("description", ""),
        ("base_url", "https://test-api.service.hmrc.gov.uk"),
        (
            "authorization_url",
            "https://test-api.service.hmrc.gov.uk/oauth/authorize",
        ),
        (
            "token_url",
            "https://test-api.service.hmrc.gov.uk/oauth/token",
        ),
        ("revocation_url", ""),
        ("redirect_url", "http://127.0.0.1:9/oauth/callback"),
        ("client_id", "vat-client"),
        ("client_id_env", ""),
        ("client_secret_env", ""),
        ("new_client_secret", ""),
        ("scope", "read:vat"),
        ("authorization_params", ""),
        ("client_auth", "client_secret_post"),
        ("pkce", "on"),
        ("accept", ""),
        ("content_type", ""),
        ("code_lifetime", "10m"),
        ("authorization_lifetime", ""),
        ("issuer", ""),
        ("exchange_source", ""),
        ("exchange_url", ""),
    ];
    for (key, value) in changes {
        match form.iter_mut().find(|(k, _)| k == key) {
            Some(field) => field.1 = value,
            None => form.push((key, value)),
        }
    }
    form
}

const EDIT: &str = "/web-applications/HMRC%20VAT%20sandbox/edit";

fn administrators_edit_records(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", GOOD);
    add_user(&emsg, "ada", "administrator", ADA);
    add_user(&emsg, "fiona", "finance", FIONA);
    let server = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let form = ada.get(EDIT).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("value=\"vat-client\""), "prefilled");
        assert!(form.body.contains("Client secret (write-only: not set)"));
        let csrf = hidden_field(&form.body, "csrf");
        let before = emsg.export();

        // Errors name the field and what to do; nothing changes, the typed secret is not echoed.
        let bad = ada
            .post_form(
                EDIT,
                &vat_form(
                    &csrf,
                    &[
                        ("token_url", "not a url"),
                        ("code_lifetime", "3h"),
                        ("new_client_secret", "edit-secret-refused-1"),
                    ],
                ),
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("Nothing was saved"), "{}", bad.body);
        assert!(
            bad.body.contains("<strong>Token URL</strong>"),
            "{}",
            bad.body
        );
        assert!(
            bad.body.contains("<strong>Code lifetime</strong>"),
            "{}",
            bad.body
        );
        assert!(
            bad.body.contains("value=\"not a url\""),
            "the typed values stay"
        );
        assert_eq!(emsg.export(), before, "nothing was written");
        let params = ada
            .post_form(
                EDIT,
                &vat_form(&csrf, &[("authorization_params", "no equals sign here")]),
            )
            .await;
        assert_eq!(params.status, 422);
        assert!(
            params
                .body
                .contains("<strong>Authorization parameters</strong>")
        );
        let taken = ada
            .post_form(EDIT, &vat_form(&csrf, &[("name", "hmrc itsa SANDBOX")]))
            .await;
        assert_eq!(taken.status, 422);
        assert!(taken.body.contains("already named"), "{}", taken.body);
        assert_eq!(emsg.export(), before, "nothing was written");

        // A good edit: new scope, a secret typed, a parameter.
        let good = ada
            .post_form(
                EDIT,
                &vat_form(
                    &csrf,
                    &[
                        ("scope", "read:vat write:vat"),
                        ("new_client_secret", "edit-secret-2"),
                        ("authorization_params", "ui_locales=en"),
                    ],
                ),
            )
            .await;
        assert_eq!(good.status, 303, "{}", good.body);
        let page = ada.get("/web-applications/HMRC%20VAT%20sandbox").await;
        assert!(
            page.body
                .contains("Saved. Changed: scope, authorization_params, client_secret."),
            "{}",
            page.body
        );
        assert!(page.body.contains("<dt>Client secret</dt><dd>set</dd>"));
        let after = emsg.export();
        assert!(after.contains("scope: read:vat write:vat"), "{after}");
        assert!(after.contains("ui_locales: en"), "{after}");

        // A blank secret field keeps the stored secret; only the description changes.
        let keep = ada
            .post_form(
                EDIT,
                &vat_form(
                    &csrf,
                    &[
                        ("scope", "read:vat write:vat"),
                        ("authorization_params", "ui_locales=en"),
                        ("description", "edited on the page"),
                    ],
                ),
            )
            .await;
        assert_eq!(keep.status, 303, "{}", keep.body);
        let shown: serde_json::Value = serde_json::from_str(
            &ada.get("/api/v1/web-applications/HMRC%20VAT%20sandbox")
                .await
                .body,
        )
        .unwrap();
        assert_eq!(shown["client_secret"], "set");
        assert_eq!(shown["description"], "edited on the page");

        // A rename moves the page.
        let renamed = ada
            .post_form(
                EDIT,
                &vat_form(
                    &csrf,
                    &[
                        ("name", "HMRC VAT sandbox (renamed)"),
                        ("scope", "read:vat write:vat"),
                        ("authorization_params", "ui_locales=en"),
                        ("description", "edited on the page"),
                    ],
                ),
            )
            .await;
        assert_eq!(renamed.status, 303, "{}", renamed.body);
        assert_eq!(
            renamed.location.as_deref(),
            Some("/web-applications/HMRC%20VAT%20sandbox%20%28renamed%29")
        );

        // The audit log names the changed fields, never a value of a secret.
        let audit = ada.get("/api/v1/audit?action=edit").await;
        let audit: serde_json::Value = serde_json::from_str(&audit.body).unwrap();
        let details: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["detail"].as_str().unwrap())
            .collect();
        assert_eq!(details.len(), 3, "{details:?}");
        assert!(
            details.contains(
                &"edited on the Web applications page: scope, authorization_params, client_secret"
            ),
            "{details:?}"
        );
        assert!(details.contains(&"edited on the Web applications page: description"));
        assert!(details.contains(&"edited on the Web applications page: name"));

        // Finance may not edit.
        let fiona = Browser::new(&server);
        assert_eq!(fiona.log_in("fiona", FIONA).await.status, 303);
        let fcsrf = fiona.csrf().await;
        let path = "/web-applications/HMRC%20VAT%20sandbox%20%28renamed%29/edit";
        assert_eq!(fiona.get(path).await.status, 403);
        let refused = fiona
            .post_form(
                path,
                &vat_form(&fcsrf, &[("new_client_secret", "edit-secret-finance")]),
            )
            .await;
        assert_eq!(refused.status, 403);

        let all = format!("{}{}{}", ada.bodies(), fiona.bodies(), server.stderr());
        assert_no_secret(
            &all,
            &[
                "edit-secret-refused-1",
                "edit-secret-2",
                "edit-secret-finance",
            ],
            "pages and log",
        );
    });
}

on_both_backends!(administrators_edit_records);

/// The list of names is kept in memory per node; a rename on another node and an import by
/// another process show on the next page view all the same (the names' generation is read
/// with the session).
fn the_list_shows_names_changed_elsewhere_at_once(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", GOOD);
    add_user(&emsg, "ada", "administrator", ADA);
    let first = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let second = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ada = Browser::new(&first);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let list = || async { ada.get(&first.url("/web-applications")).await.body };
        let old_link = "href=\"/web-applications/HMRC%20VAT%20sandbox\"";
        let page = list().await;
        assert!(page.contains(old_link), "{page}");
        assert!(page.contains("1–2 of 2"), "{page}");
        assert_eq!(list().await, page, "served again, unchanged");

        // Renamed on the second node.
        let form = ada.get(&second.url(EDIT)).await;
        let csrf = hidden_field(&form.body, "csrf");
        let renamed = ada
            .post_form(
                &second.url(EDIT),
                &vat_form(&csrf, &[("name", "HMRC VAT sandbox (renamed)")]),
            )
            .await;
        assert_eq!(renamed.status, 303, "{}", renamed.body);
        let page = list().await;
        assert!(
            !page.contains(old_link),
            "the old name is gone at once: {page}"
        );
        assert!(
            page.contains("href=\"/web-applications/HMRC%20VAT%20sandbox%20%28renamed%29\""),
            "{page}"
        );

        // Added by `emsg import` in another process.
        let more = emsg.write(
            "more.yaml",
            "web_applications:
  - name: Zulu added elsewhere
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: zulu-client
    client_secret: null
    scope: read
",
        );
        emsg.run(&["import", more.to_str().unwrap()]).ok();
        let page = list().await;
        assert!(page.contains("Zulu added elsewhere"), "{page}");
        assert!(page.contains("1–3 of 3"), "{page}");
    });
}

on_both_backends!(the_list_shows_names_changed_elsewhere_at_once);

/// The edit form's fields as the page fills them in (what a browser would send back).
fn form_fields(page: &str) -> Vec<(String, String)> {
    let mut fields = vec![("csrf".to_owned(), hidden_field(page, "csrf"))];
    for name in [
        "name",
        "base_url",
        "authorization_url",
        "token_url",
        "revocation_url",
        "redirect_url",
        "client_id",
        "client_id_env",
        "client_secret_env",
        "scope",
        "accept",
        "content_type",
        "code_lifetime",
        "authorization_lifetime",
        "issuer",
        "exchange_source",
        "exchange_url",
    ] {
        fields.push((name.to_owned(), hidden_field(page, name)));
    }
    for name in ["description", "authorization_params"] {
        let text = page
            .split(&format!("name=\"{name}\""))
            .nth(1)
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(_, rest)| rest.split("</textarea>").next())
            .unwrap()
            // As a browser reads the text.
            .replace("&#x3D;", "=")
            .replace("&#x27;", "'")
            .replace("&#x2F;", "/")
            .replace("&#x60;", "`")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        fields.push((name.to_owned(), text));
    }
    for name in ["pkce", "user_specific", "obtain_token_on_callback"] {
        if page.contains(&format!("name=\"{name}\" type=\"checkbox\" checked")) {
            fields.push((name.to_owned(), "on".to_owned()));
        }
    }
    let auth = if page.contains("value=\"client_secret_basic\" selected") {
        "client_secret_basic"
    } else {
        "client_secret_post"
    };
    fields.push(("client_auth".to_owned(), auth.to_owned()));
    fields
}

fn the_edit_form_sends_every_shipped_record_back_unchanged(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    add_user(&emsg, "ada", "administrator", ADA);
    let server = serve_web(&emsg, "127.0.0.1:0", &shipped_file(), &[]);
    let before = emsg.export();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let list: serde_json::Value =
            serde_json::from_str(&ada.get("/api/v1/web-applications").await.body).unwrap();
        let names: Vec<String> = list["web_applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names.len(), 8);
        for name in names {
            let path = format!("/web-applications/{}/edit", name.replace(' ', "%20"));
            let page = ada.get(&path).await;
            assert_eq!(page.status, 200, "{name}: {}", page.body);
            let fields = form_fields(&page.body);
            let form: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let saved = ada.post_form(&path, &form).await;
            assert_eq!(saved.status, 303, "{name}: {}", saved.body);
            let shown = ada.get(saved.location.as_deref().unwrap()).await;
            assert!(
                shown.body.contains("Nothing changed"),
                "{name}: {}",
                shown.body
            );
        }
    });
    assert_eq!(emsg.export(), before);
}

on_both_backends!(the_edit_form_sends_every_shipped_record_back_unchanged);

/// Two user-specific records that differ only in what they declare: `Declared` captures a NINO
/// and offers UI languages, `Undeclared` (with the same Income Tax scope) neither.
const DECLARED: &str = "web_applications:
  - name: Declared
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: declared-client
    client_secret: declared-secret-4b1e
    scope: read:self-assessment
    authorization_params: {ui_locales: en}
    parameter_choices: {ui_locales: [nb, en]}
    user_specific: true
    captures: [nino]
  - name: Undeclared
    base_url: https://test-api.service.hmrc.gov.uk
    authorization_url: https://test-api.service.hmrc.gov.uk/oauth/authorize
    token_url: https://test-api.service.hmrc.gov.uk/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: undeclared-client
    client_secret: undeclared-secret-4b1e
    scope: read:self-assessment
    authorization_params: {ui_locales: en}
    user_specific: true
";

fn what_connecting_asks_for_and_what_get_code_offers_come_from_the_record(backend: Backend) {
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", DECLARED);
    add_user(&emsg, "ada", "administrator", ADA);
    let server = serve_web(&emsg, "127.0.0.1:0", &apps, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ada = Browser::new(&server);
        assert_eq!(ada.log_in("ada", ADA).await.status, 303);
        let declared = ada.get("/web-applications/Declared").await.body;
        assert!(
            declared.contains(
                "<label for=\"ui_locales\">Requested language in the user interface</label>"
            ) && declared.contains("<option value=\"en\" selected>en</option>")
                && declared.contains("<option value=\"nb\">nb</option>")
                && !declared.contains("<option value=\"se\">"),
            "{declared}"
        );
        assert!(
            declared.contains("<dt>Captures</dt><dd>nino</dd>"),
            "{declared}"
        );
        assert!(
            declared.contains("<dt>Parameter choices</dt><dd>ui_locales: nb en</dd>"),
            "{declared}"
        );
        let undeclared = ada.get("/web-applications/Undeclared").await.body;
        assert!(!undeclared.contains("for=\"ui_locales\""), "{undeclared}");

        // My connections asks for the NINO where the record captures it, whatever the scope.
        let mine = ada.get("/my-connections").await.body;
        let section = |name: &str| {
            mine.split("<section class=\"connection\"")
                .find(|s| s.contains(&format!(">{name}</h2>")))
                .unwrap()
                .to_owned()
        };
        assert!(section("Declared").contains("name=\"nino\""), "{mine}");
        assert!(!section("Undeclared").contains("name=\"nino\""), "{mine}");

        // Get authorization code takes only the values the record offers.
        let csrf = ada.csrf().await;
        let get_code = |name: &str| format!("/api/v1/web-applications/{name}/get-code");
        let refused = ada
            .post_json(
                &get_code("Declared"),
                Some(&csrf),
                &serde_json::json!({ "ui_locales": "se" }),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body.contains(
                "Requested language in the user interface `se` is not offered: choose nb or en"
            ),
            "{}",
            refused.body
        );
        let not_offered = ada
            .post_json(
                &get_code("Undeclared"),
                Some(&csrf),
                &serde_json::json!({ "ui_locales": "nb" }),
            )
            .await;
        assert_eq!(not_offered.status, 400, "{}", not_offered.body);
        assert!(
            not_offered
                .body
                .contains("Undeclared offers no choice of `ui_locales`"),
            "{}",
            not_offered.body
        );
        let started = ada
            .post_json(
                &get_code("Declared"),
                Some(&csrf),
                &serde_json::json!({ "ui_locales": "nb" }),
            )
            .await;
        assert_eq!(started.status, 200, "{}", started.body);
        let started: serde_json::Value = serde_json::from_str(&started.body).unwrap();
        let url = started["authorization_url"].as_str().unwrap();
        assert!(url.contains("ui_locales=nb"), "{url}");

        // The edit form has both fields, with their rules.
        let edit = "/web-applications/Undeclared/edit";
        let page = ada.get(edit).await;
        assert!(
            page.body.contains("name=\"captures\" value=\"\""),
            "{}",
            page.body
        );
        let form = form_fields(&page.body);
        let post = |changes: &[(&'static str, &'static str)]| {
            let mut fields: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            fields.extend_from_slice(changes);
            fields
        };
        let bad = ada
            .post_form(
                edit,
                &post(&[("captures", "vrn"), ("parameter_choices", "ui_locales")]),
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(
            bad.body
                .contains("<strong>Parameter choices</strong>: line 1"),
            "{}",
            bad.body
        );
        let bad = ada.post_form(edit, &post(&[("captures", "vrn")])).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(
            bad.body.contains(
                "<strong>Captures</strong>: &#x60;vrn&#x60; is not an identifier emsg captures"
            ),
            "{}",
            bad.body
        );
        let good = ada
            .post_form(
                edit,
                &post(&[
                    ("captures", "nino"),
                    ("parameter_choices", "ui_locales=nb nn en se"),
                ]),
            )
            .await;
        assert_eq!(good.status, 303, "{}", good.body);
        let shown = ada.get("/web-applications/Undeclared").await.body;
        assert!(
            shown.contains("Saved. Changed: parameter_choices, captures."),
            "{shown}"
        );
        let export = emsg.export();
        assert!(
            export.contains("    parameter_choices:\n      ui_locales: [nb, nn, en, se]\n"),
            "{export}"
        );
        assert!(export.contains("    captures: [nino]\n"), "{export}");
    });
}

on_both_backends!(what_connecting_asks_for_and_what_get_code_offers_come_from_the_record);
