//! The Norwegian services of the shipped file: Skatteetaten's VAT-return validation (an XML body,
//! every value XML-escaped, at Skatteetaten's own API host) with the user's ID-porten token, and
//! Altinn instance creation with the Altinn token exchanged from it. Both are user-specific: only
//! the user who authorized may send.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use emsg_store::messages::MessageStatus;
use emsg_test_db::on_both_backends;
use emsg_testkit::mock::MockResponse;
use serde_json::json;
use support::*;

const VALIDATE: &str = "/api/mva/grensesnittstoette/mva-melding/valider";
const INSTANCES: &str = "/skd/mva-melding-innsending-v1/instances/";
const EXCHANGE: &str = "/authentication/api/v1/exchange/id-porten";

on_both_backends! {
    fn a_vat_return_is_validated_at_skatteetaten_with_the_id_porten_token(db) {
        run(db, async |env| {
            env.seed_connection("NO ID-Porten test", env.alice, "idporten-access-1");
            env.mock
                .on("POST", VALIDATE)
                .respond(MockResponse::text(200, "<valideringsresultat><status>GYLDIG</status></valideringsresultat>"))
                .mount();
            let sent = env
                .messenger
                .send(env.request("Skatteetaten VAT return validation test", &[
                    ("organisationNumber", "974 760 673"),
                    ("year", "2026"),
                    ("period", "januar-februar"),
                    ("vatPayable", "1000.5"),
                    ("reference", "R&D <1> \"Q1\""),
                ]))
                .await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            let call = &env.api_calls()[0];
            assert_eq!(call.header("authorization"), Some("Bearer idporten-access-1"));
            assert_eq!(call.header("content-type"), Some("application/xml"));
            assert_eq!(call.header("gov-client-connection-method"), None, "not an HMRC service");
            let body = String::from_utf8(call.body.clone())?;
            assert!(body.contains("<organisasjonsnummer>974760673</organisasjonsnummer>"), "{body}");
            assert!(body.contains("<fastsattMerverdiavgift>1000.50</fastsattMerverdiavgift>"), "{body}");
            assert!(
                body.contains("<regnskapssystemsreferanse>R&amp;D &lt;1&gt; &quot;Q1&quot;</regnskapssystemsreferanse>"),
                "{body}"
            );
            assert!(env.message(sent.message_id).response_body.unwrap().contains("GYLDIG"));
            // Another user has no ID-porten authorization of their own.
            let mut as_bob = env.request("Skatteetaten VAT return validation test", &[
                ("organisationNumber", "974760673"), ("year", "2026"),
                ("period", "mars-april"), ("vatPayable", "0"), ("reference", "x"),
            ]);
            as_bob.user = Some(env.bob);
            let refused = env.messenger.send(as_bob).await?;
            assert_eq!(refused.status, MessageStatus::TechnicalError);
            assert!(refused.summary.contains("alice"), "{}", refused.summary);
            assert_eq!(env.api_calls().len(), 1, "nothing left for bob");
            Ok(())
        });
    }

    fn an_altinn_instance_is_created_with_the_exchanged_token(db) {
        run(db, async |env| {
            env.seed_connection("NO ID-Porten test", env.alice, "idporten-access-1");
            env.mock
                .on("GET", EXCHANGE)
                .respond(MockResponse::text(200, "\"altinn-token-1\""))
                .mount();
            env.mock
                .on("POST", INSTANCES)
                .respond(MockResponse::json(201, json!({"id": "50015641/a72223a3-926b-4095-a2a6-bacc10815f2d"})))
                .mount();
            let sent = env
                .messenger
                .send(env.request("Altinn VAT instance test", &[("organisationNumber", "974760673")]))
                .await?;
            assert_eq!(sent.status, MessageStatus::ResponseReceived, "{}", sent.summary);
            let exchange = env.mock.requests().into_iter().find(|r| r.path == EXCHANGE).unwrap();
            assert_eq!(exchange.header("authorization"), Some("Bearer idporten-access-1"));
            let call = env.mock.requests().into_iter().find(|r| r.path == INSTANCES).unwrap();
            assert_eq!(call.header("authorization"), Some("Bearer altinn-token-1"));
            let body: serde_json::Value = serde_json::from_slice(&call.body)?;
            assert_eq!(body, json!({"instanceOwner": {"organisationNumber": "974760673"}}));
            Ok(())
        });
    }
}
