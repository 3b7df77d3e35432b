//! The `processings` list: a whole processing is checked against the file's web services
//! (each step's service exists, every value it uses exists by then, extracted names never
//! replace given ones, polls and reconciles only read), each mistake located and explained;
//! the fields a message starts with are derived from its steps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use emsg_webapps::{Action, parse};

const FILE: &str = "web_applications:
  - name: HMRC VAT
    base_url: https://api.example.test
    authorization_url: https://www.example.test/authorize
    token_url: https://api.example.test/token
    redirect_url: http://127.0.0.1:8080/oauth/callback
    client_id: c
    client_secret: null
    scope: read:vat
web_services:
  - name: Obligations
    web_application: HMRC VAT
    method: GET
    url: \"/organisations/vat/{{vrn}}/obligations\"
    fields:
      - {name: vrn, type: vrn}
  - name: Return
    web_application: HMRC VAT
    method: POST
    url: \"/organisations/vat/{{vrn}}/returns/{{periodKey}}\"
    success_statuses: [201]
    fields:
      - {name: vrn, type: vrn}
      - {name: periodKey, type: period_key}
      - {name: note, type: text, required: false}
  - name: View return
    web_application: HMRC VAT
    method: GET
    url: \"/organisations/vat/{{vrn}}/returns/{{periodKey}}\"
    fields:
      - {name: vrn, type: vrn}
      - {name: periodKey, type: period_key}
processings:
  - name: VAT filing
    description: find the open period, review, file
    steps:
      - name: Find the open period
        request: Obligations
        extract:
          periodKey: {json: /obligations/0/periodKey}
      - name: Review
        confirm:
          show: [vrn, periodKey]
          declaration: I declare the information is true and complete.
      - name: File
        request: Return
        extract:
          receipt: {header: Receipt-ID}
        reconcile:
          request: View return
          done_when: {status: 200}
";

fn refused(from: &str, to: &str) -> String {
    assert!(FILE.contains(from), "the case changes nothing: {from}");
    parse("f.yaml", &FILE.replace(from, to))
        .expect_err("refused")
        .to_string()
}

#[test]
fn a_processing_is_read_with_the_fields_it_starts_with() {
    let parsed = parse("f.yaml", FILE).expect("parses");
    let processing = &parsed.processings[0];
    assert_eq!(processing.steps.len(), 3);
    assert!(matches!(processing.steps[1].action, Action::Confirm(_)));
    // periodKey is extracted before the return uses it, so only vrn (and the optional note)
    // are given when the message starts.
    let inputs: Vec<&str> = processing
        .inputs(&parsed.services)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(inputs, ["vrn", "note"]);
    assert_eq!(parsed.processing_lines, [34]);
}

#[test]
fn each_mistake_is_located_and_explained() {
    let cases = [
        (
            ("request: Obligations", "request: Obligatons"),
            "f.yaml:38:18: processings[0].steps[0].request: no web service named `Obligatons` in this file; did you mean `Obligations`?",
        ),
        (
            ("show: [vrn, periodKey]", "show: [vrn, receipt]"),
            "processings[0].steps[1].confirm.show: `receipt` is neither a field the message starts with nor a value an earlier step extracts",
        ),
        (
            (
                "periodKey: {json: /obligations/0/periodKey}",
                "vrn: {json: /obligations/0/vrn}",
            ),
            "processings[0].steps[0].extract.vrn: `vrn` is a field filled in when the message starts",
        ),
        (
            ("{json: /obligations/0/periodKey}", "{json: obligations}"),
            "is not a JSON Pointer",
        ),
        (
            ("request: View return", "request: Return"),
            "a reconcile request must only read (GET); web service `Return` is POST",
        ),
        (
            (
                "      - name: Review\n        confirm:",
                "      - name: Review\n        poll: Return\n        confirm:",
            ),
            "a step has exactly one of `request: <web service>`, `poll: <web service>` and `confirm: {show, declaration}`",
        ),
        (
            (
                "        request: Return\n",
                "        poll: Return\n        until: {status: 201}\n        interval: 5s\n        deadline: 1m\n",
            ),
            "a `poll` step only reads, so it has nothing to reconcile",
        ),
        (
            ("      - name: Review", "      - name: find the open period"),
            "step 2 has the same name as step 1",
        ),
        (
            (
                "          done_when: {status: 200}",
                "          done_when: {status: 200, equals: x}",
            ),
            "`equals` needs `from`",
        ),
        (
            (
                "  - name: VAT filing\n",
                "  - name: VAT filing\n    colour: red\n",
            ),
            "unknown key `colour` in a processing",
        ),
    ];
    for ((from, to), expected) in cases {
        let message = refused(from, to);
        assert!(
            message.contains(expected),
            "changing `{from}` to `{to}`:\n{message}\nshould contain:\n{expected}"
        );
    }
}

#[test]
fn a_poll_needs_its_timing_and_a_read_only_service() {
    let poll = "      - name: Wait
        poll: Obligations
        until: {from: {json: /obligations/0/status}, equals: F}
        interval: 10s
        backoff: 2
        max_interval: 1m
        deadline: 1h
";
    let file = FILE.replace(
        "      - name: Review\n",
        &format!("{poll}      - name: Review\n"),
    );
    let parsed = parse("f.yaml", &file).expect("a good poll parses");
    let Action::Poll(_, timing) = &parsed.processings[0].steps[1].action else {
        panic!("a poll step");
    };
    assert_eq!(timing.wait_after(1).as_secs(), 10);
    assert_eq!(timing.wait_after(3).as_secs(), 40);
    assert_eq!(
        timing.wait_after(9).as_secs(),
        60,
        "never above max_interval"
    );
    for (from, to, expected) in [
        ("        deadline: 1h\n", "", "needs `deadline`"),
        (
            "interval: 10s",
            "interval: soon",
            "`interval`: `soon` is not a duration",
        ),
        ("backoff: 2", "backoff: 20", "`backoff` is 20"),
        (
            "poll: Obligations",
            "poll: Return",
            "a poll is sent again and again, so it must only read",
        ),
    ] {
        let message = parse("f.yaml", &file.replace(from, to))
            .expect_err("refused")
            .to_string();
        assert!(message.contains(expected), "{to}: {message}");
    }
}

#[test]
fn a_schedule_fills_only_fields_the_message_starts_with() {
    let scheduled = FILE.replace(
        "    description: find the open period, review, file\n",
        "    description: find the open period, review, file\n    schedule:\n      every: 1d\n      fields:\n        vrn: \"123456789\"\n",
    );
    let parsed = parse("f.yaml", &scheduled).expect("a good schedule parses");
    let schedule = parsed.processings[0].schedule.as_ref().expect("scheduled");
    assert_eq!(schedule.every().as_secs(), 86_400);
    for (from, to, expected) in [
        (
            "every: 1d",
            "every: 30s",
            "a schedule runs at most every minute",
        ),
        (
            "every: 1d",
            "every: daily",
            "`every`: `daily` is not a duration",
        ),
        (
            "vrn: \"123456789\"",
            "periodKey: \"18A1\"",
            "`periodKey` is no field the message starts with; they are: note, vrn",
        ),
        (
            "vrn: \"123456789\"",
            "vrn: \"{{yesterday}}\"",
            "`{{yesterday}}` is not a date a schedule fills in",
        ),
        (
            "      every: 1d\n",
            "      every: 1d\n      at: 6am\n",
            "unknown field `at`",
        ),
    ] {
        let message = parse("f.yaml", &scheduled.replace(from, to))
            .expect_err("refused")
            .to_string();
        assert!(message.contains(expected), "{to}: {message}");
    }
}

#[test]
fn a_split_and_a_followed_url_name_values_of_earlier_steps() {
    let split = FILE.replace(
        "          receipt: {header: Receipt-ID}\n",
        "          receipt: {header: Receipt-ID}\n        split:\n          receipt: {by: \"-\", into: [year, serial]}\n",
    );
    let parsed = parse("f.yaml", &split).expect("a good split parses");
    let call = parsed.processings[0].steps[2].call().expect("a call");
    assert_eq!(
        call.split["receipt"].apply("receipt", "2026-42").unwrap(),
        [
            ("year".to_owned(), "2026".to_owned()),
            ("serial".to_owned(), "42".to_owned())
        ]
    );
    assert!(call.split["receipt"].apply("receipt", "2026").is_err());
    for (from, to, expected) in [
        (
            "split:\n          receipt:",
            "split:\n          receit:",
            "the step extracts no `receit` to split",
        ),
        ("into: [year, serial]", "into: [year]", "at least two parts"),
        (
            "into: [year, serial]",
            "into: [vrn, serial]",
            "`vrn` cannot name a part",
        ),
    ] {
        let message = parse("f.yaml", &split.replace(from, to))
            .expect_err("refused")
            .to_string();
        assert!(message.contains(expected), "{to}: {message}");
    }
    let followed = FILE.replace(
        "        request: Return\n",
        "        request: Return\n        url_from: periodKey\n",
    );
    parse("f.yaml", &followed).expect("an extracted value is followed");
    let unknown = FILE.replace(
        "        request: Return\n",
        "        request: Return\n        url_from: link\n",
    );
    let message = parse("f.yaml", &unknown).expect_err("refused").to_string();
    assert!(
        message.contains("`link` is no value an earlier step extracts"),
        "{message}"
    );
}
