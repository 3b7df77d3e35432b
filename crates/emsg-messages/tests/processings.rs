//! Processings run step by step against a loopback stand-in: values extracted from one answer
//! fill later requests, a verdict read from a 200 body stops the message, a person confirms, a
//! poll looks until its condition holds (or its deadline passes), an answer is kept byte for
//! byte as an attachment, and an unsafe request whose outcome is unknown is reconciled, never
//! sent again blindly. Each count is taken at the stand-in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use emsg_messages::StartRequest;
use emsg_store::MessageId;
use emsg_store::exchanges;
use emsg_store::messages::MessageStatus;
use emsg_store::runs::Decision;
use emsg_test_db::on_both_backends;
use emsg_testkit::mock::MockResponse;
use serde_json::json;
use support::*;

/// Web services of a filing shaped like Norway's (validate, create an instance, upload to its
/// data element, wait for feedback, fetch the receipt), and the processing that chains them.
const FILING: &str = r#"
  - name: Filing validate
    web_application: HMRC VAT sandbox
    method: POST
    url: "/filing/{{vrn}}/validate"
    fields:
      - {name: vrn, label: VAT registration number, type: vrn}
  - name: Filing create instance
    web_application: HMRC VAT sandbox
    method: POST
    url: "/filing/{{vrn}}/instances"
    success_statuses: [201]
    fields:
      - {name: vrn, label: VAT registration number, type: vrn}
  - name: Filing find instance
    web_application: HMRC VAT sandbox
    method: GET
    url: "/filing/{{vrn}}/instances"
    fields:
      - {name: vrn, label: VAT registration number, type: vrn}
  - name: Filing upload envelope
    web_application: HMRC VAT sandbox
    content_type: application/xml
    method: PUT
    url: "/filing/instances/{{partyId}}/{{instanceGuid}}/data/{{dataId}}"
    success_statuses: [201]
    fields:
      - {name: partyId, type: text, max_chars: 12}
      - {name: instanceGuid, type: text, max_chars: 36}
      - {name: dataId, type: text, max_chars: 60}
  - name: Filing status
    web_application: HMRC VAT sandbox
    method: GET
    url: "/filing/instances/{{partyId}}/{{instanceGuid}}/status"
    fields:
      - {name: partyId, type: text, max_chars: 12}
      - {name: instanceGuid, type: text, max_chars: 36}
  - name: Filing receipt
    web_application: HMRC VAT sandbox
    method: GET
    url: "/filing/instances/{{partyId}}/{{instanceGuid}}/receipt"
    response_type: text
    fields:
      - {name: partyId, type: text, max_chars: 12}
      - {name: instanceGuid, type: text, max_chars: 36}

processings:
  - name: Filing
    description: validate, create an instance, review, upload, wait for feedback, keep the receipt
    steps:
      - name: Validate
        request: Filing validate
        verdict:
          from: {json: /result}
          accepted: [valid]
          details: [{json: /errors}]
      - name: Create instance
        request: Filing create instance
        extract:
          instance: {json: /id}
          dataId: {json_item: {list: /data, member: /dataType, starts_with: envelope, take: /id}}
        split:
          instance: {by: /, into: [partyId, instanceGuid]}
        RECONCILE
      - name: Review
        confirm:
          show: [vrn, instance]
          declaration: I declare that the information given is correct and complete.
      - name: Upload envelope
        request: Filing upload envelope
        body_file: envelope.xml
      - name: Wait for feedback
        poll: Filing status
        until: {from: {json: /done}, equals: "true"}
        interval: 1s
        deadline: DEADLINE
        extract:
          receiptUrl: {json: /receiptUrl}
      - name: Receipt
        request: Filing receipt
        url_from: receiptUrl
        attachment: receipt.pdf
"#;

const RECONCILE: &str = r#"reconcile:
          request: Filing find instance
          done_when: {from: {json: /instances/0/id}}
          extract:
            instance: {json: /instances/0/id}
            dataId: {json: /instances/0/envelopeId}"#;

fn filing(reconcile: bool, deadline: &str) -> String {
    FILING
        .replace("RECONCILE", if reconcile { RECONCILE } else { "" })
        .replace("DEADLINE", deadline)
}

/// Altinn's instance id: `{partyId}/{instanceGuid}`, two path segments.
const INSTANCE_ID: &str = "50001/6c1a5d8e-3f0b-4e5e-9a43-1b2c3d4e5f60";
const INSTANCE: &str = "50001/6c1a5d8e-3f0b-4e5e-9a43-1b2c3d4e5f60";
/// The ERP's ready-made envelope, sent as it is.
const ENVELOPE_XML: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<konvolutt><navn>Ærlig & Co</navn></konvolutt>\n";
const ENVELOPE: &str = "d7e1-envelope";
/// A receipt that is not text: every byte value, so a lossy copy would show.
fn receipt() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend(0u8..=255);
    bytes
}

fn instance_created() -> MockResponse {
    MockResponse::json(
        201,
        json!({"id": INSTANCE_ID, "data": [
            {"id": "a1-attachment", "dataType": "attachments"},
            {"id": ENVELOPE, "dataType": "envelope-v4"}]}),
    )
}

fn mount_happy_path(env: &Env, create: MockResponse) {
    mount_path(env, create, None);
}

/// The happy path, the feedback pointing at `receipt_url` (else the stand-in's own receipt).
fn mount_path(env: &Env, create: MockResponse, receipt_url: Option<&str>) {
    let own_receipt = env
        .mock
        .url(&format!("/filing/instances/{INSTANCE}/receipt?lang=en"));
    env.mock
        .on("POST", "/filing/123456789/validate")
        .respond(MockResponse::json(
            200,
            json!({"result": "valid", "errors": []}),
        ))
        .mount();
    env.mock
        .on("POST", "/filing/123456789/instances")
        .respond(create)
        .mount();
    env.mock
        .on(
            "PUT",
            &format!("/filing/instances/{INSTANCE}/data/{ENVELOPE}"),
        )
        .respond(MockResponse::json(201, json!({"ok": true})))
        .mount();
    env.mock
        .on("GET", &format!("/filing/instances/{INSTANCE}/status"))
        .times(2, MockResponse::json(200, json!({"done": false})))
        .then(MockResponse::json(
            200,
            json!({"done": true, "receiptUrl": receipt_url.unwrap_or(&own_receipt)}),
        ))
        .mount();
    env.mock
        .on("GET", &format!("/filing/instances/{INSTANCE}/receipt"))
        .respond(MockResponse::Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/pdf".into())],
            body: receipt(),
            delay: None,
        })
        .mount();
}

fn start_request(env: &Env) -> StartRequest {
    StartRequest {
        processing: "Filing".to_owned(),
        fields: BTreeMap::from([("vrn".to_owned(), "GB123456789".to_owned())]),
        company: None,
        user: Some(env.alice),
        origin: env.web_origin(),
        idempotency_key: None,
        files: BTreeMap::from([("envelope.xml".to_owned(), ENVELOPE_XML.as_bytes().to_vec())]),
    }
}

/// Runs due steps until the message is `wanted` (or a minute passes).
async fn drive(env: &Env, id: i64, wanted: MessageStatus) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        env.processor.run_due().await?;
        let status = env.message(id).status();
        if status == wanted {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) || (status.is_final() && status != wanted) {
            anyhow::bail!(
                "message {id} is {status} ({:?}), not {wanted}; history: {:#?}",
                env.message(id).error_message,
                env.events(id)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(env: &Env, method: &str, path: &str) -> usize {
    env.mock.count(method, path)
}

on_both_backends! {
    fn a_filing_runs_through_extraction_confirm_poll_and_attachment(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            mount_happy_path(env, instance_created());
            let started = env.processor.start(start_request(env)).await?;
            let id = started.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            // Nothing after the confirm step has left.
            assert_eq!(count(env, "PUT", &format!("/filing/instances/{INSTANCE}/data/{ENVELOPE}")), 0);
            let message = env.message(id);
            assert_eq!(message.step, Some(2));
            let extracted: BTreeMap<String, String> = serde_json::from_str(&message.extracted)?;
            assert_eq!(extracted["instance"], INSTANCE_ID);
            assert_eq!(extracted["partyId"], "50001", "split into its two segments");
            assert_eq!(extracted["instanceGuid"], "6c1a5d8e-3f0b-4e5e-9a43-1b2c3d4e5f60");
            assert_eq!(extracted["dataId"], ENVELOPE, "the envelope's data element, not the first");

            env.processor
                .decide(MessageId::new(id), 2, Decision::Confirm, (Some(env.alice), &env.web_origin()), "confirmed by alice".into())
                .await?;
            drive(env, id, MessageStatus::Completed).await?;
            assert_eq!(count(env, "POST", "/filing/123456789/validate"), 1);
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 1);
            assert_eq!(count(env, "PUT", &format!("/filing/instances/{INSTANCE}/data/{ENVELOPE}")), 1);
            let upload = env
                .api_calls()
                .into_iter()
                .find(|r| r.method == "PUT")
                .expect("the envelope was sent");
            assert_eq!(upload.body, ENVELOPE_XML.as_bytes(), "the uploaded file, byte for byte");
            assert_eq!(upload.header("content-type"), Some("application/xml"));
            assert_eq!(count(env, "GET", &format!("/filing/instances/{INSTANCE}/status")), 3, "polled until done");
            let mut conn = env.pool.get()?;
            let timeline = exchanges::of_message(&mut conn, MessageId::new(id))?;
            let kept = timeline
                .iter()
                .find(|e| e.attachment.as_deref() == Some("receipt.pdf"))
                .expect("the receipt is kept");
            assert_eq!(kept.response_body.as_deref(), Some(receipt().as_slice()), "byte for byte");
            for exchange in &timeline {
                assert!(exchange.request_headers.contains("[redacted]"));
                assert!(!exchange.request_headers.contains("access-token-1"));
            }
            Ok(())
        });
    }

    fn a_refusal_in_a_200_body_stops_the_message_with_its_reasons(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            env.mock
                .on("POST", "/filing/123456789/validate")
                .respond(MockResponse::json(200, json!({"result": "invalid",
                    "errors": ["box 5 does not add up", "period is closed"]})))
                .mount();
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::BusinessError).await?;
            let message = env.message(id);
            let error = message.error_message.unwrap_or_default();
            assert!(error.contains("`invalid`"), "{error}");
            assert!(error.contains("box 5 does not add up; period is closed"), "{error}");
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 0, "nothing after the refusal");
            Ok(())
        });
    }

    fn an_unknown_outcome_is_reconciled_and_never_sent_twice(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            // The instance is created, but the connection drops before the answer.
            mount_happy_path(env, MockResponse::Reset);
            env.mock
                .on("GET", "/filing/123456789/instances")
                .respond(MockResponse::json(200, json!({"instances": [
                    {"id": INSTANCE_ID, "envelopeId": ENVELOPE}]})))
                .mount();
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 1, "never sent twice");
            assert_eq!(count(env, "GET", "/filing/123456789/instances"), 1, "reconciled once");
            let extracted: BTreeMap<String, String> =
                serde_json::from_str(&env.message(id).extracted)?;
            assert_eq!(extracted["dataId"], ENVELOPE, "read from the reconcile answer");
            let history = format!("{:?}", env.events(id));
            assert!(history.contains("may or may not have processed"), "{history}");
            assert!(history.contains("reconciled"), "{history}");
            Ok(())
        });
    }

    fn a_reconcile_that_finds_nothing_sends_the_step_again(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            env.mock
                .on("POST", "/filing/123456789/instances")
                .respond(MockResponse::Reset)
                .then(instance_created())
                .mount();
            env.mock
                .on("POST", "/filing/123456789/validate")
                .respond(MockResponse::json(200, json!({"result": "valid"})))
                .mount();
            env.mock
                .on("GET", "/filing/123456789/instances")
                .respond(MockResponse::json(200, json!({"instances": []})))
                .mount();
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            assert_eq!(count(env, "GET", "/filing/123456789/instances"), 1);
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 2,
                "sent again only after the reconcile showed the first was not processed");
            Ok(())
        });
    }

    fn without_a_reconcile_request_a_person_decides_an_unknown_outcome(db) {
        run_with(db, &filing(false, "30s"), async |env| {
            env.connect().await;
            mount_happy_path(env, MockResponse::Reset);
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::OutcomeUnknown).await?;
            let message = env.message(id);
            assert!(message.error_message.unwrap_or_default().contains("Was received"));
            // Nothing runs by itself while it waits.
            env.processor.run_due().await?;
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 1);
            // A person says it did not arrive: the step is sent again, once.
            env.mock.reset();
            mount_happy_path(env, instance_created());
            env.processor
                .decide(MessageId::new(id), 1, Decision::SendAgain, (Some(env.alice), &env.web_origin()), "alice: send again".into())
                .await?;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            assert_eq!(count(env, "POST", "/filing/123456789/instances"), 1);
            // A decision for a step the message is no longer at is refused.
            let stale = env
                .processor
                .decide(MessageId::new(id), 1, Decision::WasReceived, (Some(env.alice), &env.web_origin()), "late".into())
                .await;
            assert!(stale.is_err());
            Ok(())
        });
    }

    fn a_poll_gives_up_at_its_deadline(db) {
        run_with(db, &filing(true, "2s"), async |env| {
            env.connect().await;
            mount_happy_path(env, instance_created());
            env.mock.reset();
            env.mock
                .on("POST", "/filing/123456789/validate")
                .respond(MockResponse::json(200, json!({"result": "valid"})))
                .mount();
            env.mock.on("POST", "/filing/123456789/instances").respond(instance_created()).mount();
            env.mock
                .on("PUT", &format!("/filing/instances/{INSTANCE}/data/{ENVELOPE}"))
                .respond(MockResponse::json(201, json!({})))
                .mount();
            env.mock
                .on("GET", &format!("/filing/instances/{INSTANCE}/status"))
                .respond(MockResponse::json(200, json!({"done": false})))
                .mount();
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            env.processor
                .decide(MessageId::new(id), 2, Decision::Confirm, (Some(env.alice), &env.web_origin()), "alice".into())
                .await?;
            drive(env, id, MessageStatus::TechnicalError).await?;
            let error = env.message(id).error_message.unwrap_or_default();
            assert!(error.contains("did not hold within 2s"), "{error}");
            let looks = count(env, "GET", &format!("/filing/instances/{INSTANCE}/status"));
            assert!((2..=4).contains(&looks), "looked {looks} times in 2 s at 1 s intervals");
            Ok(())
        });
    }

    fn an_idempotency_key_starts_one_filing(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            let mut request = start_request(env);
            request.idempotency_key = Some("erp-batch-7".to_owned());
            let first = env.processor.start(request.clone()).await?;
            let again = env.processor.start(request.clone()).await?;
            assert_eq!(first.message_id, again.message_id);
            assert!(again.replayed);
            request.fields.insert("vrn".into(), "987654321".into());
            assert!(env.processor.start(request).await.is_err(), "the key with other fields");
            Ok(())
        });
    }
}

/// A second person's browser, as the page reports it for bob.
fn bobs_origin(env: &Env) -> emsg_messages::Origin {
    let mut origin = env.web_origin();
    if let emsg_messages::Origin::WebAppViaServer(client) = &mut origin {
        client.public_ip = std::net::IpAddr::from([198, 51, 100, 99]);
        client.forwarded.clear();
        client.user_name = "bob".to_owned();
    }
    origin
}

on_both_backends! {
    fn the_shipped_vat_filing_carries_the_device_data_of_whoever_acts(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": [
                    {"periodKey": "18A1", "start": "2026-01-01", "end": "2026-03-31",
                     "due": "2026-05-07", "status": "O"}]})))
                .mount();
            env.mock
                .on("POST", "/organisations/vat/123456789/returns")
                .respond(MockResponse::json(201, json!({"processingDate": "2026-05-01T12:00:00.000Z",
                    "formBundleNumber": "123456789012"})))
                .mount();
            let fields = [
                ("vrn", "123456789"), ("from", "2026-01-01"), ("to", "2026-12-31"),
                ("vatDueSales", "105.50"), ("vatDueAcquisitions", "-100.45"),
                ("totalVatDue", "5.05"), ("vatReclaimedCurrPeriod", "105.15"),
                ("netVatDue", "100.10"), ("totalValueSalesExVAT", "300"),
                ("totalValuePurchasesExVAT", "300"), ("totalValueGoodsSuppliedExVAT", "3000"),
                ("totalAcquisitionsExVAT", "3000"), ("finalised", "true"),
            ];
            let started = env
                .processor
                .start(StartRequest {
                    processing: "HMRC VAT return filing sandbox".to_owned(),
                    fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                    company: None,
                    user: Some(env.alice),
                    origin: env.web_origin(),
                    idempotency_key: None,
                    files: BTreeMap::new(),
                })
                .await?;
            let id = started.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            env.processor
                .decide(MessageId::new(id), 1, Decision::Confirm, (Some(env.bob), &bobs_origin(env)),
                    "bob agreed".into())
                .await?;
            drive(env, id, MessageStatus::Completed).await?;
            let calls = env.api_calls();
            let obligations = calls.iter().find(|r| r.method == "GET").expect("obligations sent");
            let filed = calls.iter().find(|r| r.method == "POST").expect("return sent");
            // Every step is sent as the web app it came from, each with the data of the person
            // who acted last: alice started it, bob confirmed it.
            for request in [obligations, filed] {
                assert_eq!(request.header("gov-client-connection-method"), Some("WEB_APP_VIA_SERVER"));
            }
            assert_eq!(obligations.header("gov-client-public-ip"), Some("198.51.100.7"));
            assert_eq!(filed.header("gov-client-public-ip"), Some("198.51.100.99"));
            let body: serde_json::Value = serde_json::from_slice(&filed.body)?;
            assert_eq!(body["periodKey"], "18A1", "the period key read from the obligations");
            let extracted: BTreeMap<String, String> =
                serde_json::from_str(&env.message(id).extracted)?;
            assert_eq!(extracted["formBundleNumber"], "123456789012");
            // The token stays alice's: the shipped processing does not hand over.
            assert_eq!(filed.header("authorization"), Some("Bearer access-token-1"));
            Ok(())
        });
    }

    fn a_web_service_runs_as_a_processing_of_one_step(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            let id = env
                .processor
                .start(StartRequest {
                    processing: "HMRC VAT obligations sandbox".to_owned(),
                    fields: [("vrn", "123456789"), ("from", "2026-01-01"), ("to", "2026-12-31")]
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    company: None,
                    user: Some(env.alice),
                    origin: env.web_origin(),
                    idempotency_key: None,
                    files: BTreeMap::new(),
                })
                .await?
                .message_id;
            drive(env, id, MessageStatus::Completed).await?;
            assert_eq!(env.api_calls().len(), 1);
            Ok(())
        });
    }
}

const MORNING: &str = r#"
processings:
  - name: Morning obligations
    schedule:
      every: 1d
      fields:
        vrn: "123456789"
        from: "{{today-30d}}"
        to: "{{today+60d}}"
    steps:
      - name: Obligations
        request: HMRC VAT obligations sandbox
"#;

on_both_backends! {
    fn a_schedule_starts_a_batch_message_for_each_connection_once_per_period(db) {
        run_with(db, MORNING, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            assert_eq!(env.processor.fire_schedules().await?, 1, "the one connection");
            assert_eq!(env.processor.fire_schedules().await?, 0, "not again until tomorrow");
            let id = env.message_count() as i64;
            drive(env, id, MessageStatus::Completed).await?;
            let calls = env.api_calls();
            assert_eq!(calls.len(), 1);
            let request = &calls[0];
            assert_eq!(
                request.header("gov-client-connection-method"),
                Some("BATCH_PROCESS_DIRECT"),
                "nobody was at a browser"
            );
            let today = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs() as i64
                / 86_400;
            let from = emsg_webapps::Schedule::fill("{{today-30d}}", today).unwrap();
            let to = emsg_webapps::Schedule::fill("{{today+60d}}", today).unwrap();
            assert_eq!(request.query.as_deref(), Some(format!("from={from}&to={to}").as_str()));
            assert_eq!(env.message(id).user_id, None, "the company's connection, nobody's");
            Ok(())
        });
    }
}

#[test]
fn schedule_dates_are_filled_for_the_day() {
    // 2026-12-07 is day 20_794 after 1970-01-01.
    assert_eq!(
        emsg_webapps::Schedule::fill("{{today}}", 20_794).unwrap(),
        "2026-12-07"
    );
    assert_eq!(
        emsg_webapps::Schedule::fill("{{today-365d}}", 20_794).unwrap(),
        "2025-12-07"
    );
    assert_eq!(
        emsg_webapps::Schedule::fill("{{ today+25d }}", 20_794).unwrap(),
        "2027-01-01"
    );
    assert_eq!(
        emsg_webapps::Schedule::fill("Q{{today}}!", 0).unwrap(),
        "Q1970-01-01!"
    );
    assert!(emsg_webapps::Schedule::fill("{{yesterday}}", 0).is_err());
    assert!(emsg_webapps::Schedule::fill("{{today-3w}}", 0).is_err());
}

on_both_backends! {
    fn a_processing_is_started_with_exactly_its_files(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            let mut request = start_request(env);
            request.files.clear();
            let missing = env.processor.start(request.clone()).await.expect_err("refused");
            assert!(missing.to_string().contains("the file `envelope.xml` is required"), "{missing}");
            request.files.insert("envelope.xml".into(), vec![0xff, 0xfe]);
            request.files.insert("extra.pdf".into(), b"%PDF".to_vec());
            let wrong = env.processor.start(request).await.expect_err("refused").to_string();
            assert!(wrong.contains("`extra.pdf` is no file of processing `Filing`"), "{wrong}");
            assert!(wrong.contains("`envelope.xml` is not UTF-8 text"), "{wrong}");
            assert_eq!(env.message_count(), 0, "nothing was started");
            Ok(())
        });
    }
}

on_both_backends! {
    fn a_url_from_an_answer_is_followed_only_on_the_apis_origin(db) {
        run_with(db, &filing(true, "30s"), async |env| {
            env.connect().await;
            mount_path(env, instance_created(), Some("https://collector.example/receipt"));
            let id = env.processor.start(start_request(env)).await?.message_id;
            drive(env, id, MessageStatus::AwaitingConfirmation).await?;
            env.processor
                .decide(MessageId::new(id), 2, Decision::Confirm, (Some(env.alice), &env.web_origin()), "alice".into())
                .await?;
            drive(env, id, MessageStatus::TechnicalError).await?;
            let error = env.message(id).error_message.unwrap_or_default();
            assert!(error.contains("https://collector.example/receipt"), "{error}");
            assert!(error.contains("not followed"), "{error}");
            assert_eq!(count(env, "GET", &format!("/filing/instances/{INSTANCE}/receipt")), 0);
            Ok(())
        });
    }
}
