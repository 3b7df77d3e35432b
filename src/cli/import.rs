//! `emsg import FILE [--dry-run]` and `emsg export [--out FILE]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use emsg_use_cases::import::{ImportFile, Importer, import};
use emsg_use_cases::{Actor, web_applications};

use crate::context::{Global, runtime};

#[derive(Debug, clap::Args)]
pub struct Import {
    /// The YAML file (see docs/web-apps.md for every field).
    pub file: PathBuf,
    /// Show per record what would be added, changed (which fields) or left unchanged; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct Export {
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(global: &Global, args: Import) -> anyhow::Result<ExitCode> {
    let shown = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {shown}"))?;
    let file = ImportFile {
        name: shown,
        bytes,
        templates: crate::context::templates_beside(&args.file),
    };
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let imported = runtime()?.block_on(import(&ctx, Importer::Operator, file, args.dry_run))?;
    let report = match imported {
        Ok(report) => report,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("nothing was imported: fix the file and run the import again");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}

pub fn export(global: &Global, args: Export) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let yaml = runtime()?.block_on(web_applications::export(&ctx, &Actor::operator()))?;
    match args.out {
        Some(path) => {
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}
