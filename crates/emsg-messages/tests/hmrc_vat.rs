//! Sending HMRC VAT messages through the shipped web services to a loopback stand-in of HMRC's
//! API: the exact request (method, path, query, headers — every fraud-prevention header's
//! format — and body), each answer's status in the message log, one refresh on a 401, re-send
//! of a failed message, and refusals before anything leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use emsg_messages::SendError;
use emsg_store::messages::MessageStatus;
use emsg_test_db::on_both_backends;
use emsg_testkit::mock::MockResponse;
use serde_json::json;
use support::*;

const OBLIGATIONS: &str = "HMRC VAT obligations sandbox";
const RETURN: &str = "HMRC VAT return sandbox";
const RETURNS_PATH: &str = "/organisations/vat/123456789/returns";

/// A return whose boxes add up: 3 = 1 + 2, 5 = |3 − 4|, 6–9 whole pounds.
fn good_return() -> Vec<(&'static str, &'static str)> {
    vec![
        ("vrn", "GB 123 456 789"),
        ("periodKey", "18A1"),
        ("vatDueSales", "105.50"),
        ("vatDueAcquisitions", "-100.45"),
        ("totalVatDue", "5.05"),
        ("vatReclaimedCurrPeriod", "105.15"),
        ("netVatDue", "100.10"),
        ("totalValueSalesExVAT", "300"),
        ("totalValuePurchasesExVAT", "300.00"),
        ("totalValueGoodsSuppliedExVAT", "3000"),
        ("totalAcquisitionsExVAT", "3000"),
        ("finalised", "true"),
    ]
}

/// Fields to change, the field expected to be refused, and words of its message.
type BadCase = (
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static str,
);

fn header<'a>(request: &'a emsg_testkit::mock::RecordedRequest, name: &str) -> &'a str {
    request
        .header(name)
        .unwrap_or_else(|| panic!("the request has no {name} header: {:?}", request.headers))
}

on_both_backends! {
    fn obligations_are_requested_exactly_as_hmrc_specifies(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": [
                    {"periodKey": "18A1", "start": "2026-01-01", "end": "2026-03-31",
                     "due": "2026-05-07", "status": "O"}]})))
                .mount();
            let sent = env
                .messenger
                .send(env.request(OBLIGATIONS, &[
                    ("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31"), ("status", "O"),
                ]))
                .await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            let calls = env.api_calls();
            assert_eq!(calls.len(), 1);
            let call = &calls[0];
            assert_eq!(call.method, "GET");
            assert_eq!(call.query.as_deref(), Some("from=2026-01-01&to=2026-12-31&status=O"));
            assert_eq!(header(call, "authorization"), "Bearer access-token-1");
            assert_eq!(header(call, "accept"), "application/vnd.hmrc.1.0+json");
            assert!(call.body.is_empty());
            // Fraud prevention, WEB_APP_VIA_SERVER.
            assert_eq!(header(call, "gov-client-connection-method"), "WEB_APP_VIA_SERVER");
            assert_eq!(header(call, "gov-client-public-ip"), "198.51.100.7");
            assert_eq!(header(call, "gov-client-public-port"), "53124");
            assert_eq!(
                header(call, "gov-client-public-ip-timestamp"),
                "2026-11-18T11:06:40.123Z"
            );
            assert_eq!(header(call, "gov-client-device-id"), DEVICE_ID);
            assert_eq!(header(call, "gov-client-user-ids"), "emsg=alice");
            assert_eq!(header(call, "gov-client-timezone"), "UTC+01:00");
            assert_eq!(
                header(call, "gov-client-screens"),
                "width=1920&height=1080&scaling-factor=1&colour-depth=24,\
                 width=2560&height=1440&scaling-factor=1.25&colour-depth=30"
            );
            assert_eq!(header(call, "gov-client-window-size"), "width=1256&height=803");
            assert_eq!(
                header(call, "gov-client-browser-js-user-agent"),
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"
            );
            assert_eq!(
                header(call, "gov-vendor-forwarded"),
                "by=203.0.113.6&for=198.51.100.7"
            );
            assert_eq!(header(call, "gov-vendor-public-ip"), "203.0.113.6");
            assert_eq!(header(call, "gov-vendor-product-name"), "emsg");
            assert_eq!(
                header(call, "gov-vendor-version"),
                format!("emsg={}", env!("CARGO_PKG_VERSION"))
            );
            assert_eq!(call.header("gov-vendor-license-ids"), Some(""), "no licence keys: sent empty, never left out");
            // Specification 3.3 as the validator in the test tree applies it: the only error left
            // is the second factor emsg's log-ins do not have yet.
            let sent_headers: Vec<(String, String)> =
                call.headers.iter().filter(|(k, _)| k.starts_with("gov-")).cloned().collect();
            let errors: Vec<String> = emsg_fph_validator::validate(&sent_headers)
                .into_iter()
                .filter(|f| f.severity == emsg_fph_validator::Severity::Error)
                .map(|f| f.to_string())
                .collect();
            assert!(
                errors.len() == 1 && errors[0].contains("Gov-Client-Multi-Factor"),
                "{errors:#?}"
            );
            // The log: the request as sent with the token redacted, the response.
            let message = env.message(sent.message_id);
            assert_eq!(message.request_method.as_deref(), Some("GET"));
            assert!(message.request_url.as_deref().unwrap().ends_with(
                "/organisations/vat/123456789/obligations?from=2026-01-01&to=2026-12-31&status=O"
            ));
            let logged = message.request_headers.clone().unwrap();
            assert!(logged.contains("Bearer [redacted]"), "{logged}");
            assert!(logged.contains("WEB_APP_VIA_SERVER"), "{logged}");
            assert_eq!(message.response_status, Some(200));
            assert!(message.response_body.clone().unwrap().contains("18A1"));
            assert_eq!(message.connection_method.as_deref(), Some("WEB_APP_VIA_SERVER"));
            let history: Vec<String> =
                env.events(sent.message_id).into_iter().map(|e| e.status).collect();
            assert_eq!(history, ["new", "sent", "response_received"]);
            Ok(())
        });
    }

    fn a_return_is_accepted_with_201_and_a_receipt(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", RETURNS_PATH)
                .respond(
                    MockResponse::json(201, json!({
                        "processingDate": "2026-11-23T02:00:00.000Z",
                        "formBundleNumber": "256660290587",
                        "chargeRefNumber": "aCxFaNx0FZsCvyWF"}))
                    .with_header("Receipt-ID", "2d3aa8a1-2ded-4d8e-a0ff-1e2f6a5d4c3b")
                    .with_header("Receipt-Timestamp", "2026-11-23T02:00:00.000Z"),
                )
                .mount();
            let sent = env.messenger.send(env.request(RETURN, &good_return())).await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            let call = &env.api_calls()[0];
            assert_eq!(call.method, "POST");
            assert_eq!(call.query, None);
            assert_eq!(header(call, "content-type"), "application/json");
            let body: serde_json::Value = serde_json::from_slice(&call.body)?;
            assert_eq!(body, json!({
                "periodKey": "18A1",
                "vatDueSales": 105.50,
                "vatDueAcquisitions": -100.45,
                "totalVatDue": 5.05,
                "vatReclaimedCurrPeriod": 105.15,
                "netVatDue": 100.10,
                "totalValueSalesExVAT": 300,
                "totalValuePurchasesExVAT": 300,
                "totalValueGoodsSuppliedExVAT": 3000,
                "totalAcquisitionsExVAT": 3000,
                "finalised": true
            }));
            let text = String::from_utf8(call.body.clone())?;
            assert!(text.contains("\"totalValueSalesExVAT\": 300,"), "whole pounds: {text}");
            let message = env.message(sent.message_id);
            assert_eq!(message.response_status, Some(201));
            let headers = message.response_headers.unwrap();
            assert!(headers.contains("2d3aa8a1-2ded-4d8e-a0ff-1e2f6a5d4c3b"), "{headers}");
            Ok(())
        });
    }

    fn a_duplicate_submission_is_a_business_error(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", RETURNS_PATH)
                .respond(MockResponse::json(403, json!({
                    "code": "DUPLICATE_SUBMISSION",
                    "message": "The VAT return was already submitted for the given period."})))
                .mount();
            let sent = env.messenger.send(env.request(RETURN, &good_return())).await?;
            assert_eq!(sent.status, MessageStatus::BusinessError);
            assert!(sent.summary.contains("DUPLICATE_SUBMISSION"), "{}", sent.summary);
            assert!(sent.summary.contains("already submitted"), "{}", sent.summary);
            let message = env.message(sent.message_id);
            assert_eq!(message.error_code.as_deref(), Some("DUPLICATE_SUBMISSION"));
            assert_eq!(message.response_status, Some(403));
            Ok(())
        });
    }

    fn invalid_credentials_get_one_refresh_and_one_retry(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", TOKEN_PATH)
                .respond(MockResponse::token("access-token-2", Some("refresh-token-2"), Some(14_400)))
                .mount();
            env.mock
                .on("POST", RETURNS_PATH)
                .respond(MockResponse::json(401, json!({
                    "code": "INVALID_CREDENTIALS", "message": "Invalid Authentication information provided"})))
                .then(MockResponse::json(201, json!({"formBundleNumber": "256660290587"})))
                .mount();
            let sent = env.messenger.send(env.request(RETURN, &good_return())).await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            assert_eq!(env.refreshes(), 1, "exactly one refresh");
            let calls = env.api_calls();
            assert_eq!(calls.len(), 2, "exactly one retry");
            assert_eq!(header(&calls[0], "authorization"), "Bearer access-token-1");
            assert_eq!(header(&calls[1], "authorization"), "Bearer access-token-2");
            let details: Vec<String> =
                env.events(sent.message_id).into_iter().map(|e| e.detail).collect();
            assert!(details.iter().any(|d| d.contains("answered 401")), "{details:?}");
            Ok(())
        });
    }

    fn a_second_401_is_not_retried_again(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", TOKEN_PATH)
                .respond(MockResponse::token("access-token-2", Some("refresh-token-2"), Some(14_400)))
                .mount();
            env.mock
                .on("GET", "/organisations/vat/123456789/liabilities")
                .respond(MockResponse::json(401, json!({"code": "INVALID_CREDENTIALS"})))
                .mount();
            let sent = env
                .messenger
                .send(env.request("HMRC VAT liabilities sandbox", &[
                    ("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-06-30"),
                ]))
                .await?;
            assert_eq!(sent.status, MessageStatus::TechnicalError);
            assert_eq!(env.refreshes(), 1);
            assert_eq!(env.api_calls().len(), 2);
            Ok(())
        });
    }

    fn an_outage_is_a_technical_error_and_the_message_can_be_sent_again(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", RETURNS_PATH)
                .respond(MockResponse::text(503, "Service Unavailable"))
                .then(MockResponse::json(201, json!({"formBundleNumber": "256660290587"})))
                .mount();
            let failed = env.messenger.send(env.request(RETURN, &good_return())).await?;
            assert_eq!(failed.status, MessageStatus::TechnicalError);
            assert!(failed.summary.contains("503"), "{}", failed.summary);
            assert!(failed.summary.contains("re-send"), "{}", failed.summary);
            let again = env
                .messenger
                .resend(failed.message_id, Some(env.alice), env.web_origin())
                .await?;
            assert_eq!(again.status, MessageStatus::ResponseReceived, "{}", again.summary);
            assert_ne!(again.message_id, failed.message_id);
            let original = env.message(failed.message_id);
            assert_eq!(original.resent_as, Some(again.message_id));
            assert_eq!(env.message(again.message_id).resent_from, Some(failed.message_id));
            let calls = env.api_calls();
            assert_eq!(calls.len(), 2);
            assert_eq!(calls[0].body, calls[1].body, "the same return is sent again");
            // A message that was received, or already re-sent, is not sent again.
            let refused = env
                .messenger
                .resend(again.message_id, Some(env.alice), env.web_origin())
                .await
                .expect_err("only failed messages are re-sent");
            assert!(refused.to_string().contains("only messages with a business or technical error"));
            let twice = env
                .messenger
                .resend(failed.message_id, Some(env.alice), env.web_origin())
                .await
                .expect_err("already re-sent");
            assert!(twice.to_string().contains("already re-sent"), "{twice}");
            Ok(())
        });
    }

    fn a_provider_that_never_answers_is_a_technical_error(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/payments")
                .respond(MockResponse::Hang)
                .mount();
            let sent = env
                .messenger
                .send(env.request("HMRC VAT payments sandbox", &[
                    ("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-06-30"),
                ]))
                .await?;
            assert_eq!(sent.status, MessageStatus::TechnicalError);
            assert!(sent.summary.contains("did not answer in time"), "{}", sent.summary);
            assert_eq!(env.message(sent.message_id).error_code.as_deref(), Some("no_response"));
            Ok(())
        });
    }

    fn bad_boxes_and_identifiers_are_refused_before_anything_leaves(db) {
        run(db, async |env| {
            env.connect().await;
            let cases: Vec<BadCase> = vec![
                (vec![("vrn", "12345678")], "vrn", "nine digits"),
                (vec![("vatDueSales", "105.555")], "vatDueSales", "at most two decimals"),
                (vec![("totalValueSalesExVAT", "300.50")], "totalValueSalesExVAT", "whole pounds"),
                (vec![("netVatDue", "-1.00")], "netVatDue", "outside the accepted range"),
                (vec![("totalVatDue", "6.05")], "totalVatDue", "must be the sum"),
                (vec![("periodKey", "18A")], "periodKey", "four letters"),
                (vec![("finalised", "false")], "finalised", "must be true"),
                (vec![("vatDueSales", "99999999999999.00")], "vatDueSales", "outside the accepted range"),
                (vec![("box10", "1")], "box10", "has no field"),
            ];
            for (changes, field, expected) in cases {
                let mut fields = good_return();
                for (name, value) in changes {
                    match fields.iter_mut().find(|(n, _)| *n == name) {
                        Some(slot) => slot.1 = value,
                        None => fields.push((name, value)),
                    }
                }
                let error = env
                    .messenger
                    .send(env.request(RETURN, &fields))
                    .await
                    .expect_err("refused");
                let SendError::Fields(errors) = &error else {
                    panic!("expected field errors, got {error}");
                };
                assert!(
                    errors.0.iter().any(|e| e.field == field && e.message.contains(expected)),
                    "{field}: expected `{expected}` in {error}"
                );
                assert!(error.to_string().contains("nothing was sent"));
            }
            let itsa = env
                .messenger
                .send(env.request("HMRC ITSA obligations sandbox", &[("nino", "QQ 12 34 56 C")]))
                .await
                .expect_err("a NINO starting with Q is never issued");
            assert!(itsa.to_string().contains("first letter cannot be Q"), "{itsa}");
            let altinn = env
                .messenger
                .send(env.request("Altinn VAT instance test", &[("organisationNumber", "974760674")]))
                .await
                .expect_err("bad check digit");
            assert!(altinn.to_string().contains("check digit"), "{altinn}");
            assert!(env.api_calls().is_empty(), "nothing left: {:?}", env.api_calls());
            assert_eq!(env.message_count(), 0, "nothing was stored");
            Ok(())
        });
    }

    fn a_message_without_a_connection_is_a_technical_error_that_says_what_to_do(db) {
        run(db, async |env| {
            let sent = env
                .messenger
                .send(env.request(OBLIGATIONS, &[("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31")]))
                .await?;
            assert_eq!(sent.status, MessageStatus::TechnicalError);
            assert!(sent.summary.contains("Get authorization code"), "{}", sent.summary);
            assert!(env.api_calls().is_empty());
            Ok(())
        });
    }

    fn batch_processes_send_their_own_fraud_prevention_headers(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            let mut request = env.request(OBLIGATIONS, &[
                ("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31"),
            ]);
            request.origin = emsg_messages::Origin::BatchProcessDirect(
                emsg_messages::fraud::this_machine(String::new(), Some("alice".to_owned()), 1_795_000_000_000),
            );
            let first = env.messenger.send(request.clone()).await?;
            assert_eq!(first.status, MessageStatus::ResponseReceived, "{}", first.summary);
            env.messenger.send(request).await?;
            let calls = env.api_calls();
            let call = &calls[0];
            assert_eq!(call.query.as_deref(), Some("from=2026-01-01&to=2026-12-31"));
            assert_eq!(header(call, "gov-client-connection-method"), "BATCH_PROCESS_DIRECT");
            let device = header(call, "gov-client-device-id");
            assert!(emsg_messages::fraud::is_device_id(device), "{device}");
            assert_eq!(header(&calls[1], "gov-client-device-id"), device, "kept for the installation");
            assert_eq!(header(call, "gov-client-timezone"), emsg_messages::fraud::local_utc_offset(), "the machine's own offset");
            assert_eq!(header(call, "gov-client-local-ips-timestamp"), "2026-11-18T11:06:40.000Z");
            assert!(!header(call, "gov-client-local-ips").is_empty());
            let agent = header(call, "gov-client-user-agent");
            assert!(agent.starts_with("os-family=linux&os-version="), "{agent}");
            assert!(!agent.contains("unknown"), "no placeholder where the machine does not tell: {agent}");
            assert!(header(call, "gov-client-user-ids").ends_with("emsg=alice"));
            assert_eq!(call.header("gov-client-public-ip"), None);
            // HMRC's rules for BATCH_PROCESS_DIRECT (specification 3.3), as the validator in the
            // test tree applies them: no error.
            let sent: Vec<(String, String)> = call
                .headers
                .iter()
                .filter(|(k, _)| k.starts_with("gov-"))
                .cloned()
                .collect();
            let errors: Vec<String> = emsg_fph_validator::validate(&sent)
                .into_iter()
                .filter(|f| f.severity == emsg_fph_validator::Severity::Error)
                .map(|f| f.to_string())
                .collect();
            assert!(errors.is_empty(), "{errors:#?}\n{sent:#?}");
            Ok(())
        });
    }
}

/// The most requests that arrived at the stand-in in one second of the clock (the fixed
/// windows a provider counts in).
fn busiest_second(calls: &[emsg_testkit::mock::RecordedRequest]) -> usize {
    let mut per_second = std::collections::BTreeMap::new();
    for call in calls {
        let second = call
            .received_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        *per_second.entry(second).or_insert(0) += 1;
    }
    per_second.into_values().max().unwrap_or(0)
}

// The stand-in's rate-limit rules, and where they are published (neither is among the API
// definitions in ../shared/contracts, which describe the endpoints, not the platform):
// - HMRC Developer Hub, reference guide, "Rate limiting"
//   (https://developer.service.hmrc.gov.uk/api-documentation/docs/reference-guide#rate-limiting):
//   3 requests a second per application; over it, HTTP 429 with the code
//   `MESSAGE_THROTTLED_OUT`.
// - RFC 9110 section 10.2.3 (`Retry-After`: the seconds to wait) and RFC 6585 section 4 (429
//   Too Many Requests, which may carry it).
on_both_backends! {
    fn messages_sent_at_once_keep_to_hmrcs_three_requests_a_second(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            // Eight senders at once, through two messengers (two nodes) on one database.
            let second = emsg_messages::Messenger::new(env.engine.clone(), env.pool.clone(), emsg_messages::Vendor::default());
            let fields = [("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31"), ("status", "O")];
            let mut sends = tokio::task::JoinSet::new();
            for i in 0..8 {
                let messenger = if i % 2 == 0 { env.messenger.clone() } else { second.clone() };
                let request = env.request(OBLIGATIONS, &fields);
                sends.spawn(async move { messenger.send(request).await });
            }
            while let Some(sent) = sends.join_next().await {
                assert_eq!(sent??.status, MessageStatus::ResponseReceived);
            }
            let calls = env.api_calls();
            assert_eq!(calls.len(), 8);
            // Spaced 350 ms apart: the eight take about 2.5 s, never more than 3 in a second.
            assert!(busiest_second(&calls) <= 3, "{} requests in one second", busiest_second(&calls));
            Ok(())
        })
    }

    fn a_429_holds_the_limit_back_and_a_get_is_sent_again_after_retry_after(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("GET", "/organisations/vat/123456789/obligations")
                .respond(
                    MockResponse::json(429, json!({"code": "MESSAGE_THROTTLED_OUT", "message": "too many requests"}))
                        .with_header("retry-after", "2"),
                )
                .then(MockResponse::json(200, json!({"obligations": []})))
                .mount();
            let sent = env
                .messenger
                .send(env.request(OBLIGATIONS, &[("vrn", VRN), ("from", "2026-01-01"), ("to", "2026-12-31"), ("status", "O")]))
                .await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            let calls = env.api_calls();
            assert_eq!(calls.len(), 2);
            let waited = calls[1].received_at.duration_since(calls[0].received_at).unwrap();
            assert!(waited >= std::time::Duration::from_millis(1900), "sent again after {waited:?}");
            let events = env.events(sent.message_id);
            assert!(events.iter().any(|e| e.detail.contains("answered 429") && e.detail.contains("after 2 s")), "{events:?}");
            Ok(())
        })
    }

    fn a_429_to_a_return_ends_the_message_without_sending_it_again(db) {
        run(db, async |env| {
            env.connect().await;
            env.mock
                .on("POST", RETURNS_PATH)
                .respond(
                    MockResponse::json(429, json!({"code": "MESSAGE_THROTTLED_OUT", "message": "too many requests"}))
                        .with_header("retry-after", "1"),
                )
                .mount();
            let sent = env.messenger.send(env.request(RETURN, &good_return())).await?;
            assert_eq!(sent.status, MessageStatus::TechnicalError, "{}", sent.summary);
            assert_eq!(env.api_calls().len(), 1, "a return is never sent twice on its own");
            Ok(())
        })
    }
}
