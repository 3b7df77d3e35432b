//! A second opinion: libxml2 (`xmllint --schema`, installed by scripts/xml-deps) and this
//! checker agree on Skatteetaten's examples and on mutated copies of them, valid or not.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use emsg_xsd::Schema;

fn contracts() -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/contracts/skatteetaten");
    assert!(
        path.is_dir(),
        "{} is missing: the published contracts are read from ../shared/contracts beside the checkout",
        path.display()
    );
    path
}

fn libxml2_accepts(xsd: &Path, document: &str, scratch: &Path) -> bool {
    let file = scratch.join("document.xml");
    std::fs::write(&file, document).unwrap();
    let run = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(xsd)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("xmllint could not run ({e}): run scripts/xml-deps"));
    run.status.success()
}

#[test]
fn libxml2_and_this_checker_agree_on_the_examples_and_on_mutated_copies() {
    let dir = contracts();
    let scratch = tempfile_dir();
    let melding_xsd =
        dir.join("no.skatteetaten.fastsetting.avgift.mva.skattemeldingformerverdiavgift.v1.0.xsd");
    let schema = Schema::parse(&std::fs::read_to_string(&melding_xsd).unwrap()).unwrap();
    let valid = std::fs::read_to_string(dir.join("examples/mvakode1.xml")).unwrap();
    let mut documents = vec![valid.clone()];
    for (from, to) in [
        (
            "<organisasjonsnummer>913238254</organisasjonsnummer>",
            "<organisasjonsnummer>91323825A</organisasjonsnummer>",
        ),
        (
            "<meldingskategori>alminnelig</meldingskategori>",
            "<meldingskategori>vanlig</meldingskategori>",
        ),
        ("<meldingskategori>alminnelig</meldingskategori>", ""),
        ("<aar>2021</aar>", "<aar>2021-01</aar>"),
        (
            "<fastsattMerverdiavgift>-2500</fastsattMerverdiavgift>",
            "<fastsattMerverdiavgift>-2500.5</fastsattMerverdiavgift>",
        ),
        (
            "<fastsattMerverdiavgift>-2500</fastsattMerverdiavgift>",
            "<fastsattMerverdiavgift>abc</fastsattMerverdiavgift>",
        ),
        (
            "<skattleggingsperiodeToMaaneder>mars-april</skattleggingsperiodeToMaaneder>",
            "<skattleggingsperiodeMaaned>mars</skattleggingsperiodeMaaned>",
        ),
        (
            "<skattleggingsperiodeToMaaneder>mars-april</skattleggingsperiodeToMaaneder>",
            "<skattleggingsperiodeMaaned>mars-april</skattleggingsperiodeMaaned>",
        ),
        ("<mvaKode>1</mvaKode>", "<mvaKode>99</mvaKode>"),
        ("<systemnavn>zzx</systemnavn>", ""),
        ("<innsending>", "<innsending><merknad/>"),
    ] {
        assert!(valid.contains(from), "{from}");
        documents.push(valid.replacen(from, to, 1));
    }
    for document in &documents {
        let ours = schema.validate(document);
        let theirs = libxml2_accepts(&melding_xsd, document, scratch.path());
        assert_eq!(
            ours.is_empty(),
            theirs,
            "libxml2 says {}, this checker says {:?}, for:\n{document}",
            if theirs { "valid" } else { "invalid" },
            ours.iter().map(ToString::to_string).collect::<Vec<_>>()
        );
    }
}

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Scratch {
    let path = std::env::temp_dir().join(format!("emsg-xsd-libxml2-{}", std::process::id()));
    std::fs::create_dir_all(&path).unwrap();
    Scratch(path)
}
