//! `emsg keys rotate` (re-seal every secret under a new master key while nodes run) and
//! `emsg keys status` (which key seals how many values, and what no key opens).

use std::path::PathBuf;
use std::process::ExitCode;

use emsg_store::audit::{self, Actor, AuditAction, NewAuditEntry};
use emsg_store::master_key::{self, KeySource};
use emsg_store::rotation::{self, RotationOptions, Unopenable};
use emsg_store::{ConnectionId, WebApplicationId, key_ring, key_ring_nodes};

use crate::context::Global;

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
    let mut opened = global.open_unwatched()?;
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
    let report = master_key::rotate_to_new_key(
        &mut opened.conn,
        &opened.ring,
        &opened.source,
        new_key_file.as_deref(),
        &options,
    )?;
    if let Some(earlier) = &report.finished_earlier {
        record(
            &mut opened.conn,
            earlier,
            "finished the interrupted rotation: ",
        )?;
        println!(
            "finished an interrupted rotation: re-sealed {} values under master key {}",
            earlier.values, earlier.new_key_id
        );
    }
    let rotation = &report.rotation;
    record(&mut opened.conn, rotation, "")?;
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

fn record(
    conn: &mut emsg_store::db::DbConnection,
    rotation: &rotation::Rotation,
    prefix: &str,
) -> anyhow::Result<()> {
    audit::record(
        conn,
        &[NewAuditEntry::ok(
            Actor::Operator,
            AuditAction::KeysRotate,
            format!(
                "{prefix}re-sealed {} values under master key {}; {} values no key opens",
                rotation.values,
                rotation.new_key_id,
                rotation.unopenable.len()
            ),
        )],
    )?;
    Ok(())
}

fn status(global: &Global) -> anyhow::Result<ExitCode> {
    let mut opened = global.open_unwatched()?;
    let ring = opened.ring();
    let conn = &mut opened.conn;
    println!("sealing with master key {}", ring.current_id());
    let held: Vec<String> = ring.key_ids().iter().map(ToString::to_string).collect();
    println!("keys loaded: {}", held.join(", "));
    println!("values per master key:");
    for (key, count) in rotation::values_per_key(conn, &ring)? {
        let key = key.unwrap_or_else(|| "(too short to name a key)".to_owned());
        let note = if held.contains(&key) {
            "loaded"
        } else {
            "NOT LOADED"
        };
        println!("  {key}: {count} ({note})");
    }
    if let Some(unfinished) = key_ring::unfinished(conn)? {
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
    let nodes = key_ring_nodes::live(conn)?;
    if !nodes.is_empty() {
        println!("running emsg processes:");
        for node in nodes {
            println!(
                "  {} (node {}): seals with {}, holds {}",
                node.description,
                node.node_id,
                node.sealing_key_id,
                node.known_key_ids.join(", ")
            );
        }
    }
    let lost = rotation::unopenable(conn, &ring)?;
    if lost.is_empty() {
        println!("every stored value opens");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} values no loaded key opens:", lost.len());
    for value in &lost {
        println!("  {}", describe(conn, value)?);
    }
    println!(
        "If you kept a copy of the key they name (a key file replaced by a rotation), pass it as \
         --previous-key-file PATH (or EMSG_PREVIOUS_KEY_FILE) and run `emsg keys rotate`: every \
         value is then sealed under the new key. Without it, authorize the connections named above \
         again and set the client secrets again."
    );
    Ok(ExitCode::from(2))
}

/// One unopenable value in the words of the admin page: which connection or record it is.
fn describe(conn: &mut emsg_store::db::DbConnection, value: &Unopenable) -> anyhow::Result<String> {
    let key = value.key_id.as_deref().unwrap_or("no key");
    let what = match value.table.as_str() {
        "connections" => {
            match emsg_store::connections::by_id(conn, ConnectionId::new(value.row))? {
                Some(connection) => {
                    let record =
                        emsg_store::web_applications::name_of(conn, connection.web_application_id)?
                            .unwrap_or_else(|| format!("record {}", connection.web_application_id));
                    let user = match connection.user_key {
                        0 => String::new(),
                        id => match emsg_store::users::get(conn, id)? {
                            Some(user) => format!(", user {}", user.name),
                            None => format!(", user {id}"),
                        },
                    };
                    format!(
                        "connection {} of {record} (company {}{user}): authorize it again (Get authorization code, then Obtain access token)",
                        value.row, connection.company
                    )
                }
                None => format!("connection {}", value.row),
            }
        }
        "web_applications" => {
            let name =
                emsg_store::web_applications::name_of(conn, WebApplicationId::new(value.row))?
                    .unwrap_or_else(|| format!("record {}", value.row));
            format!("the client secret of {name}: set it again on its page")
        }
        "pending_authorizations" => format!(
            "a started authorization ({}): it expires by itself; get a new code",
            value.row
        ),
        _ => format!("{}.{} of row {}", value.table, value.column, value.row),
    };
    Ok(format!("{what} [{}, sealed with {key}]", value.column))
}
