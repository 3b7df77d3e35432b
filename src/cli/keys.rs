//! `emsg keys rotate`: re-seal every secret under a new master key, in one transaction.

use std::path::PathBuf;
use std::process::ExitCode;

use emsg_store::audit::{self, Actor, NewAuditEntry};
use emsg_store::master_key::{self, KeySource};

use crate::context::Global;

#[derive(Debug, clap::Subcommand)]
pub enum Keys {
    /// Generate a new master key and re-seal every stored secret under it. With a key file the
    /// file is replaced safely; with EMSG_MASTER_KEY the new key goes to --new-key-file.
    Rotate {
        /// Where to write the new key when the current one comes from EMSG_MASTER_KEY.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

pub fn run(global: &Global, args: Keys) -> anyhow::Result<ExitCode> {
    let Keys::Rotate { new_key_file } = args;
    let mut opened = global.open()?;
    // A hook for the interrupted-rotation test; not a documented setting.
    let fail_after = std::env::var("EMSG_TEST_FAIL_ROTATION_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let rotation = master_key::rotate_to_new_key(
        &mut opened.conn,
        &opened.ring,
        &opened.source,
        new_key_file.as_deref(),
        fail_after,
    )?;
    audit::record(
        &mut opened.conn,
        &NewAuditEntry {
            actor: Actor::Operator,
            action: "keys-rotate",
            web_application_id: None,
            connection_id: None,
            outcome: "ok",
            error_code: None,
            detail: &format!(
                "re-sealed {} values under master key {}",
                rotation.values, rotation.new_key_id
            ),
        },
    )?;
    println!(
        "re-sealed {} values under the new master key {}",
        rotation.values, rotation.new_key_id
    );
    match (&opened.source, new_key_file) {
        (KeySource::File(path), _) => println!(
            "the key file {} now holds the new key; back it up",
            path.display()
        ),
        (KeySource::Env(_), Some(out)) => println!(
            "set EMSG_MASTER_KEY to the content of {} before the next start (every node)",
            out.display()
        ),
        (KeySource::Env(_), None) => {}
    }
    Ok(ExitCode::SUCCESS)
}
