//! The master key: rotate it (every stored secret sealed again under a new key while other
//! nodes keep running) and tell which key seals how many values, the rotation under way, the
//! running processes and every value no loaded key opens, in the words of the admin page.

use std::path::PathBuf;

use emsg_store::db::DbConnection;
pub use emsg_store::key_ring::Unfinished;
pub use emsg_store::key_ring_nodes::Node;
pub use emsg_store::master_key::{KeySource, RotationReport};
use emsg_store::rotation::Unopenable;
pub use emsg_store::rotation::{Rotation, RotationOptions};
use emsg_store::{
    ConnectionId, WebApplicationId, connections, key_ring, key_ring_nodes, master_key, rotation,
    users, web_applications,
};

use crate::{Actor, Context, UseCaseError};

/// Rotates to a new master key, as `admin`: the key of `source` is replaced (a key file in
/// place; from the environment, the new key goes to `new_key_file`). A rotation left
/// unfinished is finished first. Each rotation ends in one transaction with its audit entry.
pub async fn rotate(
    ctx: &Context,
    admin: &Actor,
    source: KeySource,
    new_key_file: Option<PathBuf>,
    options: RotationOptions,
) -> Result<RotationReport, UseCaseError> {
    admin.require_admin("Rotating the master key")?;
    let actor = admin.audit_actor();
    let ring = ctx.shared_ring().clone();
    ctx.run(move |conn| {
        Ok(master_key::rotate_to_new_key_audited(
            conn,
            &ring,
            &source,
            new_key_file.as_deref(),
            &options,
            &actor,
        )?)
    })
    .await
}

/// The state of the master keys.
pub struct KeyStatus {
    /// The key that seals.
    pub current: String,
    /// Every key this process holds.
    pub loaded: Vec<String>,
    /// Values per key they name (none: too short to name one).
    pub values_per_key: Vec<(Option<String>, usize)>,
    pub unfinished: Option<Unfinished>,
    /// The emsg processes running on this database.
    pub nodes: Vec<Node>,
    /// Every value no loaded key opens, described: which connection or record it is and what
    /// to do about it.
    pub unopenable: Vec<String>,
}

/// The state of the master keys, for `admin`.
pub async fn status(ctx: &Context, admin: &Actor) -> Result<KeyStatus, UseCaseError> {
    admin.require_admin("The master keys")?;
    let ring = ctx.ring();
    ctx.run(move |conn| {
        let values_per_key = rotation::values_per_key(conn, &ring)?;
        let unfinished = key_ring::unfinished(conn)?;
        let nodes = key_ring_nodes::live(conn)?;
        let unopenable = rotation::unopenable(conn, &ring)?
            .iter()
            .map(|value| describe(conn, value))
            .collect::<Result<_, UseCaseError>>()?;
        Ok(KeyStatus {
            current: ring.current_id().to_string(),
            loaded: ring.key_ids().iter().map(ToString::to_string).collect(),
            values_per_key,
            unfinished,
            nodes,
            unopenable,
        })
    })
    .await
}

/// One unopenable value in the words of the admin page: which connection or record it is.
fn describe(conn: &mut DbConnection, value: &Unopenable) -> Result<String, UseCaseError> {
    let key = value.key_id.as_deref().unwrap_or("no key");
    let what = match value.table.as_str() {
        "connections" => match connections::by_id(conn, ConnectionId::new(value.row))? {
            Some(connection) => {
                let record = web_applications::name_of(conn, connection.web_application_id)?
                    .unwrap_or_else(|| format!("record {}", connection.web_application_id));
                let user = match connection.user_key {
                    0 => String::new(),
                    id => match users::get(conn, id)? {
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
        },
        "web_applications" => {
            let name = web_applications::name_of(conn, WebApplicationId::new(value.row))?
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
