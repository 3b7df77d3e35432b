//! Set client secret: administrators only; the value is sealed and never shown again.

use emsg_seal::Secret;
use emsg_store::web_applications as records;

use crate::{Actor, Context, UseCaseError};

/// Seals `secret` as the client secret of the record `name`, audited as the actor's.
pub async fn set_client_secret(
    ctx: &Context,
    actor: &Actor,
    name: String,
    secret: String,
) -> Result<(), UseCaseError> {
    actor.require_admin("Setting a client secret")?;
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(UseCaseError::Invalid(
            "the client secret is empty: paste the secret from the provider's portal".to_owned(),
        ));
    }
    let secret = Secret::new(secret);
    let ring = ctx.ring();
    let actor = actor.audit_actor();
    ctx.run(move |conn| {
        let record = records::get(conn, &name)?;
        records::set_client_secret(
            conn,
            &ring,
            record.id,
            &secret,
            &actor,
            "client secret set on the Web applications page",
        )?;
        Ok(())
    })
    .await
}
