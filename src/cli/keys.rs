//! `emsg keys rotate` (re-seal every secret under a new master key while nodes run) and
//! `emsg keys status` (which key seals how many values, and what no key opens).

use std::path::PathBuf;
use std::process::ExitCode;

use emsg_use_cases::Actor;
use emsg_use_cases::keys::{self, KeySource, RotationOptions};

use crate::context::{Global, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Keys {
    /// Generate a new master key and re-seal every stored secret under it, while `serve` nodes
    /// keep running (they learn the new key from the database). With a key file the file is
    /// replaced safely; with EMSG_MASTER_KEY the new key goes to --new-key-file. A rotation
    /// left unfinished is finished first.
    Rotate {
        /// Where to write the new key when the current one comes from EMSG_MASTER_KEY.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        /// How long to wait for every running emsg process to learn the new key (and again to
        /// seal with it), e.g. `60s`.
        #[arg(long, default_value = "60s")]
        wait: String,
    },
    /// Which master key seals how many values, the rotation under way, the running processes
    /// and their keys, and every value no loaded key opens (with what to do about it).
    Status,
}

pub fn run(global: &Global, args: Keys) -> anyhow::Result<ExitCode> {
    match args {
        Keys::Rotate { new_key_file, wait } => rotate(global, new_key_file, &wait),
        Keys::Status => status(global),
    }
}

fn rotate(global: &Global, new_key_file: Option<PathBuf>, wait: &str) -> anyhow::Result<ExitCode> {
    let wait = emsg_webapps::Lifetime::parse(wait.trim())
        .map_err(|e| anyhow::anyhow!("--wait {wait}: {e}"))?
        .as_duration();
    let opened = global.open_unwatched()?;
    // A hook for the interrupted-rotation test; not a documented setting.
    let fail_after = std::env::var("EMSG_TEST_FAIL_ROTATION_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    // And one for the test that kills a rotation between its switch and its re-sealing.
    let pause_before_reseal = std::env::var("EMSG_TEST_PAUSE_BEFORE_RESEAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_secs);
    let options = RotationOptions {
        wait,
        fail_after,
        pause_before_reseal,
    };
    let ctx = opened.use_cases(global)?;
    let report = runtime()?.block_on(keys::rotate(
        &ctx,
        &Actor::operator(),
        opened.source.clone(),
        new_key_file.clone(),
        options,
    ))?;
    if let Some(earlier) = &report.finished_earlier {
        println!(
            "finished an interrupted rotation: re-sealed {} values under master key {}",
            earlier.values, earlier.new_key_id
        );
    }
    let rotation = &report.rotation;
    println!(
        "re-sealed {} values under the new master key {}",
        rotation.values, rotation.new_key_id
    );
    if !rotation.unopenable.is_empty() {
        println!(
            "{} values no key opens were left as they were; `emsg keys status` names them",
            rotation.unopenable.len()
        );
    }
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

fn status(global: &Global) -> anyhow::Result<ExitCode> {
    let opened = global.open_unwatched()?;
    let ctx = opened.use_cases(global)?;
    let status = runtime()?.block_on(keys::status(&ctx, &Actor::operator()))?;
    println!("sealing with master key {}", status.current);
    println!("keys loaded: {}", status.loaded.join(", "));
    println!("values per master key:");
    for (key, count) in status.values_per_key {
        let key = key.unwrap_or_else(|| "(too short to name a key)".to_owned());
        let note = if status.loaded.contains(&key) {
            "loaded"
        } else {
            "NOT LOADED"
        };
        println!("  {key}: {count} ({note})");
    }
    if let Some(unfinished) = status.unfinished {
        println!(
            "a rotation to master key {} is unfinished ({}): run `emsg keys rotate` to finish it",
            unfinished.next.as_deref().unwrap_or("?"),
            if unfinished.switched() {
                "the new key seals; old values are being sealed again"
            } else {
                "announced, not yet sealing"
            }
        );
    }
    if !status.nodes.is_empty() {
        println!("running emsg processes:");
        for node in status.nodes {
            println!(
                "  {} (node {}): seals with {}, holds {}",
                node.description,
                node.node_id,
                node.sealing_key_id,
                node.known_key_ids.join(", ")
            );
        }
    }
    if status.unopenable.is_empty() {
        println!("every stored value opens");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} values no loaded key opens:", status.unopenable.len());
    for value in &status.unopenable {
        println!("  {value}");
    }
    println!(
        "If you kept a copy of the key they name (a key file replaced by a rotation), pass it as \
         --previous-key-file PATH (or EMSG_PREVIOUS_KEY_FILE) and run `emsg keys rotate`: every \
         value is then sealed under the new key. Without it, authorize the connections named above \
         again and set the client secrets again."
    );
    Ok(ExitCode::from(2))
}
