//! `emsg send`, `emsg messages …` and `emsg services list` end to end: the shipped web
//! services (hosts pointed at an in-process stand-in of HMRC), a connection made with
//! `emsg auth`, field errors refused before anything leaves, BATCH_PROCESS_DIRECT headers, a
//! technical error re-sent, and no token in anything the commands printed.
#![allow(clippy::unwrap_used)]

mod support;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};
use serde_json::json;
use support::*;

const CLIENT_SECRET: &str = "cli-vat-sandbox-secret-91f";
const ACCESS: &str = "cli-access-token-5d1c";
const REFRESH: &str = "cli-refresh-token-77a0";
const CODE: &str = "cli-authorization-code-3e2";
const OBLIGATIONS: &str = "/organisations/vat/123456789/obligations";
const RETURNS: &str = "/organisations/vat/123456789/returns";

fn shipped_on(mock: &MockServer) -> String {
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    std::fs::read_to_string(shipped_file())
        .unwrap()
        .replace("https://test-api.service.hmrc.gov.uk", base)
        .replace("https://test-www.tax.service.gov.uk", base)
}

fn query(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing from {url}"))
}

fn messages_are_sent_listed_shown_and_resent_from_the_command_line(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockServer::start()).unwrap();
    mock.on("POST", "/oauth/token")
        .respond(MockResponse::token(ACCESS, Some(REFRESH), Some(14_400)))
        .mount();
    mock.on("GET", OBLIGATIONS)
        .respond(MockResponse::json(
            200,
            json!({"obligations": [{"periodKey": "18A1", "status": "O"}]}),
        ))
        .mount();
    mock.on("POST", RETURNS)
        .respond(MockResponse::text(503, "Service Unavailable"))
        .then(MockResponse::json(
            201,
            json!({"formBundleNumber": "256660290587"}),
        ))
        .mount();
    let emsg = Emsg::new(TestDb::new(backend))
        .with_env("HMRC_VAT_SANDBOX_CLIENT_ID", "cli-vat-sandbox")
        .with_env("HMRC_VAT_SANDBOX_CLIENT_SECRET", CLIENT_SECRET);
    // No templates folder beside this copy: the built-in shipped templates are used.
    let apps = emsg.write("web-apps.yaml", &shipped_on(&mock));
    let imported = emsg.run(&["import", apps.to_str().unwrap()]).ok();
    assert!(
        imported
            .stdout
            .contains("added      web service HMRC VAT return sandbox"),
        "{}",
        imported.stdout
    );
    add_user(&emsg, "fiona", "finance", "a long enough password");

    let services = emsg.run(&["services", "list"]).ok();
    assert!(
        services.stdout.contains("HMRC VAT return sandbox  [POST /organisations/vat/{{vrn}}/returns via HMRC VAT sandbox]"),
        "{}",
        services.stdout
    );
    assert!(
        services.stdout.contains("status? (one_of)"),
        "{}",
        services.stdout
    );

    let url = emsg
        .run(&["auth", "get-code", "HMRC VAT sandbox", "--user", "fiona"])
        .ok()
        .stdout;
    let state = query(url.trim(), "state");
    emsg.run(&[
        "auth", "callback", "--state", &state, "--code", CODE, "--user", "fiona",
    ])
    .ok();
    emsg.run(&[
        "auth",
        "obtain-token",
        "HMRC VAT sandbox",
        "--user",
        "fiona",
    ])
    .ok();

    // Field errors: named, nothing sent, nothing stored.
    let refused = emsg.run(&[
        "send",
        "HMRC VAT obligations sandbox",
        "--field",
        "vrn=12345",
        "--field",
        "from=2026-02-30",
        "--field",
        "to=2026-12-31",
    ]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("vrn: `12345` is not a VAT registration number"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("from: `2026-02-30` is not a date"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nothing was sent"),
        "{}",
        refused.stderr
    );
    assert_eq!(mock.count("GET", OBLIGATIONS), 0);
    assert!(
        emsg.run(&["messages", "list"])
            .ok()
            .stdout
            .contains("no messages")
    );

    let sent = emsg
        .run(&[
            "send",
            "HMRC VAT obligations sandbox",
            "--field",
            "vrn=GB123456789",
            "--field",
            "from=2026-01-01",
            "--field",
            "to=2026-12-31",
            "--user",
            "fiona",
        ])
        .ok();
    assert!(
        sent.stdout.contains("message 1: Response received"),
        "{}",
        sent.stdout
    );
    let call = mock
        .requests()
        .into_iter()
        .find(|r| r.path == OBLIGATIONS)
        .unwrap();
    assert_eq!(call.query.as_deref(), Some("from=2026-01-01&to=2026-12-31"));
    assert_eq!(
        call.header("gov-client-connection-method"),
        Some("BATCH_PROCESS_DIRECT")
    );
    assert!(
        call.header("gov-client-user-ids")
            .unwrap()
            .ends_with("emsg=fiona")
    );

    let shown = emsg.run(&["messages", "show", "1"]).ok().stdout;
    assert!(shown.contains("status: Response received"), "{shown}");
    assert!(
        shown.contains("Authorization: Bearer [redacted]"),
        "{shown}"
    );
    assert!(
        shown.contains("Gov-Client-Connection-Method: BATCH_PROCESS_DIRECT"),
        "{shown}"
    );
    assert!(shown.contains("response: 200"), "{shown}");
    assert!(shown.contains("18A1"), "{shown}");

    let args = [
        "send",
        "HMRC VAT return sandbox",
        "--field",
        "vrn=123456789",
        "--field",
        "periodKey=18A1",
        "--field",
        "vatDueSales=100",
        "--field",
        "vatDueAcquisitions=0",
        "--field",
        "totalVatDue=100",
        "--field",
        "vatReclaimedCurrPeriod=40",
        "--field",
        "netVatDue=60",
        "--field",
        "totalValueSalesExVAT=500",
        "--field",
        "totalValuePurchasesExVAT=200",
        "--field",
        "totalValueGoodsSuppliedExVAT=0",
        "--field",
        "totalAcquisitionsExVAT=0",
        "--field",
        "finalised=true",
    ];
    let failed = emsg.run(&args);
    assert_eq!(failed.code, 1);
    assert!(
        failed.stdout.contains("message 2: Technical error"),
        "{}",
        failed.stdout
    );
    assert!(failed.stdout.contains("503"), "{}", failed.stdout);
    let listed = emsg
        .run(&["messages", "list", "--status", "technical_error"])
        .ok()
        .stdout;
    assert!(
        listed.contains("HMRC VAT return sandbox") && !listed.contains("obligations"),
        "{listed}"
    );
    let resent = emsg
        .run(&["messages", "resend", "2", "--user", "fiona"])
        .ok();
    assert!(
        resent.stdout.contains("message 3: Response received"),
        "{}",
        resent.stdout
    );
    assert!(
        emsg.run(&["messages", "show", "2"])
            .ok()
            .stdout
            .contains("re-sent as message 3")
    );
    let bad_status = emsg.run(&["messages", "list", "--status", "lost"]);
    assert!(
        bad_status.stderr.contains("`lost` is not a message status"),
        "{}",
        bad_status.stderr
    );

    assert_no_secret(
        &emsg.transcript(),
        &[CLIENT_SECRET, ACCESS, REFRESH, CODE],
        "the commands' output",
    );
}

on_both_backends!(messages_are_sent_listed_shown_and_resent_from_the_command_line);
