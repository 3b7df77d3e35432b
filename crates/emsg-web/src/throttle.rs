//! Failed log-ins, counted in the database (`emsg_store::login_throttle`) so that every `serve`
//! node sees the same counts: five failures of one name from one client address within a
//! quarter of an hour lock that pair for a quarter of an hour; five of one name from anywhere
//! lock it for the addresses that failed; twenty from one address lock the address. An attempt
//! is counted before its password is checked.
//!
//! The client address is the one `--trusted-proxy` makes of `X-Forwarded-For` (else every user
//! behind the proxy would share one count); IPv6 addresses count per /64, what one host can
//! easily spread over. A typed name never reaches the table or the log: both get a keyed hash
//! of it (the key is made once per installation and kept in the settings table), because a
//! password typed into the name field is a password.
//!
//! The counts are read and written here rather than through a use case: throttling is how this
//! face defends its log-in form, and the check of the password itself is the use case
//! (`emsg_use_cases::log_in`).

use std::net::IpAddr;
use std::sync::OnceLock;

use emsg_store::db::DbConnection;
use emsg_store::login_throttle::{self, Keys, Limits, Reservation};
use emsg_store::sessions::hash;

use crate::error::WebError;

pub const LIMITS: Limits = Limits {
    per_address: 20,
    per_name: 5,
    per_pair: 5,
    lock_secs: 15 * 60,
};

/// The settings entry holding the key of the names' hashes.
const KEY_SETTING: &str = "login_name_hash_key";

/// The hashed throttle keys of one attempt, and the name's tag for the log.
pub struct Attempt {
    address: String,
    name: String,
    pair: String,
    /// A short keyed hash of the typed name: the same name gives the same tag on every node.
    pub name_tag: String,
}

impl Attempt {
    fn keys(&self) -> Keys<'_> {
        Keys {
            address: &self.address,
            name: &self.name,
            pair: &self.pair,
        }
    }
}

/// What the throttle counts an address as: IPv4 as it is, IPv6 by its /64.
fn address_bucket(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    key: OnceLock<String>,
}

impl Throttle {
    /// The installation's key for the names' hashes, read (or made) once per process.
    fn key(&self, conn: &mut DbConnection) -> Result<String, WebError> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let fresh = crate::session::random_token()?;
        let key = emsg_store::settings::get_or_create(conn, KEY_SETTING, || fresh)?;
        Ok(self.key.get_or_init(|| key).clone())
    }

    /// The keys of an attempt to log in as `name` from `address`.
    pub fn attempt(
        &self,
        conn: &mut DbConnection,
        name: &str,
        address: IpAddr,
    ) -> Result<Attempt, WebError> {
        let key = self.key(conn)?;
        let name = name.to_lowercase();
        let bucket = address_bucket(address);
        let keyed = |kind: &str, value: &str| hash(&format!("{key}\0{kind}\0{value}"));
        let name_hash = keyed("name", &name);
        Ok(Attempt {
            address: keyed("address", &bucket),
            pair: keyed("pair", &format!("{name}\0{bucket}")),
            name_tag: name_hash[..16].to_owned(),
            name: name_hash,
        })
    }

    /// Counts the attempt before its password is checked; `Err(until)` when it is locked out.
    pub fn reserve(
        &self,
        conn: &mut DbConnection,
        attempt: &Attempt,
        now: i64,
    ) -> Result<Result<(), i64>, WebError> {
        login_throttle::delete_expired(conn, now)?;
        Ok(
            match login_throttle::reserve(conn, attempt.keys(), LIMITS, now)? {
                Reservation::Allowed => Ok(()),
                Reservation::Locked { until, .. } => Err(until),
            },
        )
    }

    /// The password was right: the attempt, and the pair's earlier failures, are given back.
    pub fn succeeded(
        &self,
        conn: &mut DbConnection,
        attempt: &Attempt,
        now: i64,
    ) -> Result<(), WebError> {
        Ok(login_throttle::give_back(
            conn,
            attempt.keys(),
            now,
            LIMITS.lock_secs,
        )?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64_and_ipv4_mapped_ones_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_bucket(a), address_bucket(b));
        assert_eq!(address_bucket(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_bucket(mapped), "192.0.2.7");
    }
}
