//! Skatteetaten's XSDs and example documents, read in place from `../shared/contracts/`
//! (`Skatteetaten/mva-meldingen` at the commit its README there names): every example that is
//! valid passes, and mutated copies fail with the element and the rule they break.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use emsg_xsd::{Schema, SchemaError};

const MELDING: &str =
    "no.skatteetaten.fastsetting.avgift.mva.skattemeldingformerverdiavgift.v1.0.xsd";
const KONVOLUTT: &str = "no.skatteetaten.fastsetting.avgift.mva.mvameldinginnsending.v1.0.xsd";
const VALIDERING: &str = "no.skatteetaten.fastsetting.avgift.mva.valideringsresultat.v1.xsd";
const BETALING: &str = "no.skatteetaten.fastsetting.avgift.mva.skattemeldingformerverdiavgift.betalingsinformasjon.v1.0.xsd";

fn contract(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/contracts/skatteetaten")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): the published contracts are read from ../shared/contracts beside the checkout",
            path.display()
        )
    })
}

fn schema(name: &str) -> Schema {
    Schema::parse(&contract(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The messages of every violation, one line each, for assertions and failure output.
fn problems(schema: &Schema, document: &str) -> String {
    schema
        .validate(document)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_example_skatteetaten_publishes_as_valid_passes_its_xsd() {
    for (xsd, example) in [
        (MELDING, "examples/mvakode1.xml"),
        (MELDING, "examples/feedback-mvamelding.xml"),
        (VALIDERING, "examples/feedback-valideringsresultat.xml"),
        (BETALING, "examples/feedback-betalingsinformasjon.xml"),
    ] {
        let found = problems(&schema(xsd), &contract(example));
        assert!(found.is_empty(), "{example}:\n{found}");
    }
}

/// The envelope examples have no namespace and put `endringstidspunkt` before `vedlegg`
/// (the README beside the contracts says so): as written they break the XSD, and the checker
/// says exactly that.
#[test]
fn the_envelope_example_as_published_breaks_its_xsd_where_the_contracts_readme_says() {
    let envelope = schema(KONVOLUTT);
    let text = contract("examples/mvakonvolutt1.xml");
    let found = problems(&envelope, &text);
    assert!(found.contains("is in no namespace; the schema wants namespace `no:skatteetaten:fastsetting:avgift:mva:mvameldinginnsending:v1.0`"), "{found}");
    assert!(found.contains("in this order and number"), "{found}");

    // Put right as Altinn's round trip does (namespace added, schema order): it passes.
    let namespaced = text.replacen(
        "<mvaMeldingInnsending>",
        "<mvaMeldingInnsending xmlns=\"no:skatteetaten:fastsetting:avgift:mva:mvameldinginnsending:v1.0\">",
        1,
    );
    let start = namespaced.find("  <endringstidspunkt>").unwrap();
    let end = namespaced[start..].find('\n').unwrap() + start + 1;
    let line = namespaced[start..end].to_owned();
    let mut reordered = namespaced.replacen(&line, "", 1);
    let close = reordered.rfind("</mvaMeldingInnsending>").unwrap();
    reordered.insert_str(close, &line);
    let found = problems(&envelope, &reordered);
    assert!(found.is_empty(), "{found}");
}

#[test]
fn mutated_copies_of_the_mva_melding_fail_naming_the_element_and_the_rule() {
    let melding = schema(MELDING);
    let valid = contract("examples/mvakode1.xml");
    for (from, to, expected) in [
        // Skattepliktig: organisasjonsnummer is Organisasjonsnummer, length 9, pattern [0-9]+.
        (
            "<organisasjonsnummer>913238254</organisasjonsnummer>",
            "<organisasjonsnummer>91323825A</organisasjonsnummer>",
            "/mvaMeldingDto/skattepliktig/organisasjonsnummer: `91323825A` does not match",
        ),
        (
            "<organisasjonsnummer>913238254</organisasjonsnummer>",
            "<organisasjonsnummer>91323825</organisasjonsnummer>",
            "wants exactly 9",
        ),
        // Meldingskategori is an enumeration.
        (
            "<meldingskategori>alminnelig</meldingskategori>",
            "<meldingskategori>vanlig</meldingskategori>",
            "`vanlig` is not one of the values of Meldingskategori",
        ),
        // aar is xsd:gYear.
        (
            "<aar>2021</aar>",
            "<aar>21</aar>",
            "`21` is not a valid xsd:gYear",
        ),
        // fastsattMerverdiavgift is a decimal amount.
        (
            "<fastsattMerverdiavgift>-2500</fastsattMerverdiavgift>",
            "<fastsattMerverdiavgift>-2 500</fastsattMerverdiavgift>",
            "is not a valid xsd:decimal",
        ),
        // A required element left out.
        (
            "<meldingskategori>alminnelig</meldingskategori>",
            "",
            "but its type wants",
        ),
        // An element the type does not have.
        (
            "<meldingskategori>alminnelig</meldingskategori>",
            "<meldingskategori>alminnelig</meldingskategori><kategori>x</kategori>",
            "`kategori` is not allowed in `mvaMeldingDto`",
        ),
        // Two of a choice's branches at once.
        (
            "<skattleggingsperiodeToMaaneder>mars-april</skattleggingsperiodeToMaaneder>",
            "<skattleggingsperiodeToMaaneder>mars-april</skattleggingsperiodeToMaaneder><skattleggingsperiodeMaaned>mars</skattleggingsperiodeMaaned>",
            "/mvaMeldingDto/skattegrunnlagOgBeregnetSkatt/skattleggingsperiode/periode",
        ),
        // Text where only elements belong.
        (
            "<skattepliktig>",
            "<skattepliktig>text",
            "has text, but its type holds only elements",
        ),
        // An attribute the schema does not declare.
        (
            "<skattepliktig>",
            "<skattepliktig id=\"1\">",
            "the attribute `id` is not allowed",
        ),
        // Another namespace.
        (
            "xmlns=\"no:skatteetaten:fastsetting:avgift:mva:skattemeldingformerverdiavgift:v1.0\"",
            "xmlns=\"urn:other\"",
            "is in namespace `urn:other`",
        ),
        // Not XML at all.
        ("</mvaMeldingDto>", "", "not well-formed XML"),
    ] {
        assert!(valid.contains(from), "the example still holds {from}");
        let mutated = valid.replacen(from, to, 1);
        let found = problems(&melding, &mutated);
        assert!(
            found.contains(expected),
            "{from} → {to}: expected `{expected}` in:\n{found}"
        );
        assert!(found.starts_with("line "), "{found}");
    }
}

#[test]
fn a_schema_outside_the_supported_subset_is_refused_naming_the_construct() {
    let with_union = contract(MELDING).replacen(
        "<xsd:restriction base=\"xsd:string\">",
        "<xsd:union memberTypes=\"xsd:string\"/><xsd:restriction base=\"xsd:string\">",
        1,
    );
    match Schema::parse(&with_union) {
        Err(SchemaError::Unsupported { construct, .. }) => assert_eq!(construct, "xsd:union"),
        other => panic!("{other:?}"),
    }
    let with_attribute_default = contract(MELDING).replacen(
        "<xsd:element name=\"innsending\"",
        "<xsd:element default=\"x\" name=\"innsending\"",
        1,
    );
    assert!(matches!(
        Schema::parse(&with_attribute_default),
        Err(SchemaError::Unsupported { .. })
    ));
}
