//! Who is logging in: a user by name and password, or by API key. The session kept after a
//! log-in, its cookie and the count of failed attempts belong to the face that logs people in.

use emsg_seal::Secret;
use emsg_store::db::DbConnection;
use emsg_store::users::{self, User};

use crate::{Context, UseCaseError};

/// The user named `name` when `password` is theirs and they may log in. Synchronous on a
/// connection the caller holds, so that a face can count the attempt, check it and give it
/// back in one database task.
pub fn check_password(
    conn: &mut DbConnection,
    name: &str,
    password: &Secret,
) -> Result<Option<User>, UseCaseError> {
    Ok(users::verify_password(conn, name, password)?)
}

/// The id of the user named `name`, for logging a refused log-in without the typed name.
pub fn known_user(conn: &mut DbConnection, name: &str) -> Result<Option<i64>, UseCaseError> {
    Ok(users::find(conn, name)?.map(|u| u.id))
}

/// The user the API key `key` belongs to, while the key and the user are live.
pub async fn api_key_user(ctx: &Context, key: String) -> Result<Option<User>, UseCaseError> {
    ctx.run(move |conn| {
        Ok::<_, UseCaseError>(emsg_store::api_keys::authenticate(
            conn,
            &key,
            emsg_store::now(),
        )?)
    })
    .await
}
