//! Extraction and verdicts on the providers' own example documents, read in place from
//! `../shared/contracts/` (Skatteetaten/mva-meldingen, commit in its README there).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use emsg_processing::{JsonItem, Judgement, Response, Source, Verdict, extract, followable};

fn contract(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/contracts/skatteetaten")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): the published contracts are read from ../shared/contracts beside the checkout",
            path.display()
        )
    })
}

fn answer(body: &[u8]) -> Response<'_> {
    Response {
        status: 200,
        headers: &[],
        body,
    }
}

/// docs/informasjonsmodell_filer/example_files/feedback/…/instans.json: Altinn's instance, whose
/// `data` list holds the envelope's data element under a versioned `dataType`.
#[test]
fn the_envelopes_data_element_is_found_by_its_data_type_prefix_in_altinns_instance() {
    let body = contract("examples/feedback-instans.json");
    let r = answer(&body);
    assert_eq!(
        extract(&Source::Json("/id".into()), &r).unwrap(),
        "50267437/55604b08-1690-4a8d-bf6b-95c11dc40c58"
    );
    let envelope = Source::JsonItem(JsonItem {
        list: "/data".into(),
        member: "/dataType".into(),
        starts_with: "no.skatteetaten.fastsetting.avgift.mva.mvameldinginnsending".into(),
        take: "/id".into(),
    });
    assert_eq!(
        extract(&envelope, &r).unwrap(),
        "13750453-c8d9-49a2-9656-0041051b7817"
    );
}

/// The same instance's links point at `mva-melding-innsending-sit`, another app than the test
/// app `mva-melding-innsending-etm2` that created it: a link is followed only on the app's path.
#[test]
fn an_instance_link_to_another_app_is_not_followed() {
    let body = contract("examples/feedback-instans.json");
    let link = extract(&Source::Json("/selfLinks/apps".into()), &answer(&body)).unwrap();
    let etm2 =
        url::Url::parse("https://skd.apps.tt02.altinn.no/skd/mva-melding-innsending-etm2").unwrap();
    let sit =
        url::Url::parse("https://skd.apps.tt02.altinn.no/skd/mva-melding-innsending-sit").unwrap();
    assert!(followable(&link, &etm2).is_err());
    assert!(followable(&link, &sit).is_ok());
}

/// The validation result's `avvikVedMeldingslevering` (enumeration in
/// no.skatteetaten.fastsetting.avgift.mva.valideringsresultat.v1.xsd): only `ingen avvik` is a
/// clean return; the answer is 200 either way.
#[test]
fn skatteetatens_validation_result_is_judged_from_the_body() {
    let verdict: Verdict = serde_yaml::from_str(
        "from: {xml: /valideringsresultat/avvikVedMeldingslevering}\naccepted: [ingen avvik]\nwarnings: [avvikende skattemelding]\ndetails: [{xml: /valideringsresultat/avvik/avvikKode}]\n",
    )
    .unwrap();
    let clean = contract("examples/feedback-valideringsresultat.xml");
    assert_eq!(
        verdict.judge(&answer(&clean)).unwrap(),
        Judgement::Accepted {
            value: "ingen avvik".into()
        }
    );
    let text = String::from_utf8(clean).unwrap();
    let refused = text.replace(
        "<avvikVedMeldingslevering>ingen avvik</avvikVedMeldingslevering>",
        "<avvikVedMeldingslevering>ugyldig skattemelding</avvikVedMeldingslevering><avvik><avvikKode>R077</avvikKode></avvik>",
    );
    assert_ne!(
        refused, text,
        "the example still has the element the test replaces"
    );
    assert_eq!(
        verdict.judge(&answer(refused.as_bytes())).unwrap(),
        Judgement::Refused {
            value: "ugyldig skattemelding".into(),
            details: vec!["R077".into()]
        }
    );
}
