//! What several commands read from their arguments: `--field NAME=VALUE` pairs and the user
//! a command acts as.

use std::collections::BTreeMap;

use anyhow::anyhow;
use emsg_use_cases::{Context, UserId};

/// `--field NAME=VALUE` pairs as a map; a pair without `=` or a name given twice is refused.
pub(crate) fn parse_fields(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut fields = BTreeMap::new();
    for pair in pairs {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            anyhow!("`--field {pair}` must be NAME=VALUE, e.g. --field vrn=123456789")
        })?;
        if fields
            .insert(name.trim().to_owned(), value.to_owned())
            .is_some()
        {
            return Err(anyhow!("the field `{name}` is given twice; give it once"));
        }
    }
    Ok(fields)
}

/// The id and name of the user named `name`, who must be enabled.
pub(crate) async fn user(
    ctx: &Context,
    name: Option<&str>,
) -> anyhow::Result<Option<(UserId, String)>> {
    match name {
        Some(name) => {
            let user = crate::cli::users::acting(ctx, name).await?;
            Ok(Some((UserId::new(user.id), user.name)))
        }
        None => Ok(None),
    }
}
