//! Sessions and API keys in the database: only hashes stored, idle expiry, one-shot flash,
//! logout, revocation.
#![allow(clippy::unwrap_used)]

use diesel::prelude::*;
use emsg_seal::Secret;
use emsg_store::db::DbConnection;
use emsg_store::schema::{api_keys as api_keys_table, sessions as sessions_table};
use emsg_store::users::{self, Role, User};
use emsg_store::{api_keys, sessions};
use emsg_test_db::on_both_backends;

/// An hour without a request ends a session; a week ends it whatever its use.
const IDLE_HOUR: sessions::Limits = sessions::Limits {
    idle: 3600,
    lifetime: 7 * 24 * 3600,
};

fn fiona(conn: &mut DbConnection) -> User {
    users::add(
        conn,
        "fiona",
        Role::Finance,
        &Secret::new("fiona password long enough"),
    )
    .unwrap()
}

on_both_backends! {
    fn a_session_is_found_by_its_id_and_only_its_hash_is_stored(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        sessions::create(&mut conn, "the-session-id", user.id, "csrf-1", 1_000).unwrap();
        let found = sessions::find(&mut conn, "the-session-id", IDLE_HOUR, 1_010, true).unwrap().unwrap();
        assert_eq!(found.user, user);
        assert_eq!(found.csrf, "csrf-1");
        assert!(sessions::find(&mut conn, "another-id", IDLE_HOUR, 1_010, true).unwrap().is_none());
        let stored: Vec<String> = sessions_table::table.select(sessions_table::id_hash).load(&mut conn).unwrap();
        assert_eq!(stored, vec![sessions::hash("the-session-id")]);
        assert_eq!(stored[0].len(), 64);
    }

    fn an_idle_session_ends_and_a_used_one_lives_on(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        sessions::create(&mut conn, "s", user.id, "c", 1_000).unwrap();
        // Seen at 1,100 (touched: over a minute later), so alive until 1,100 + 3,600.
        assert!(sessions::find(&mut conn, "s", IDLE_HOUR, 1_100, false).unwrap().is_some());
        assert!(sessions::find(&mut conn, "s", IDLE_HOUR, 4_699, false).unwrap().is_some());
        assert!(sessions::find(&mut conn, "s", IDLE_HOUR, 8_299, false).unwrap().is_none());
        // and it is gone from the table
        let left: i64 = sessions_table::table.count().get_result(&mut conn).unwrap();
        assert_eq!(left, 0);
    }

    fn a_busy_session_still_ends_at_its_absolute_lifetime(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        let limits = sessions::Limits { idle: 3600, lifetime: 10_000 };
        sessions::create(&mut conn, "s", user.id, "c", 1_000).unwrap();
        sessions::create(&mut conn, "t", user.id, "c", 9_000).unwrap();
        // Used every half hour, so never idle...
        let mut at = 1_000;
        while at < 10_999 {
            at += 1_800;
            if at >= 11_000 { break; }
            assert!(sessions::find(&mut conn, "s", limits, at, false).unwrap().is_some(), "alive at {at}");
        }
        // ...but ten thousand seconds after the log-in it is over, and deleted.
        assert!(sessions::find(&mut conn, "s", limits, 11_000, false).unwrap().is_none());
        assert!(sessions::find(&mut conn, "s", limits, 11_001, false).unwrap().is_none());
        assert!(sessions::find(&mut conn, "t", limits, 11_000, false).unwrap().is_some());
        // The sweep at log-in removes sessions past their lifetime too.
        sessions::create(&mut conn, "u", user.id, "c", 1_000).unwrap();
        assert_eq!(sessions::delete_expired(&mut conn, sessions::Limits { idle: 1_000_000, lifetime: 10_000 }, 11_500).unwrap(), 1);
    }

    fn a_flash_is_shown_once_and_only_when_taken(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        sessions::create(&mut conn, "s", user.id, "c", 1_000).unwrap();
        sessions::set_flash(&mut conn, "s", "success", "done").unwrap();
        assert_eq!(sessions::find(&mut conn, "s", IDLE_HOUR, 1_001, false).unwrap().unwrap().flash, None);
        let taken = sessions::find(&mut conn, "s", IDLE_HOUR, 1_002, true).unwrap().unwrap().flash;
        assert_eq!(taken, Some(("success".to_owned(), "done".to_owned())));
        assert_eq!(sessions::find(&mut conn, "s", IDLE_HOUR, 1_003, true).unwrap().unwrap().flash, None);
    }

    fn logout_deletes_only_that_session(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        sessions::create(&mut conn, "s", user.id, "c", 1_000).unwrap();
        sessions::create(&mut conn, "t", user.id, "c", 1_000).unwrap();
        sessions::delete(&mut conn, "s").unwrap();
        assert!(sessions::find(&mut conn, "s", IDLE_HOUR, 1_001, false).unwrap().is_none());
        assert!(sessions::find(&mut conn, "t", IDLE_HOUR, 1_001, false).unwrap().is_some());
        assert_eq!(sessions::delete_expired(&mut conn, IDLE_HOUR, 10_000).unwrap(), 1);
    }

    fn an_api_key_authenticates_its_user_until_revoked_and_only_its_hash_is_stored(db) {
        let mut conn = db.connect();
        let user = fiona(&mut conn);
        let (key, info) = api_keys::create(&mut conn, user.id, 1_000).unwrap();
        assert!(key.expose().starts_with("emsg_"), "keys are recognisable");
        assert!(key.expose().starts_with(&info.prefix));
        let stored: Vec<String> = api_keys_table::table.select(api_keys_table::key_hash).load(&mut conn).unwrap();
        assert_eq!(stored, vec![sessions::hash(key.expose())]);
        assert_eq!(api_keys::authenticate(&mut conn, key.expose(), 1_001).unwrap().unwrap(), user);
        assert!(api_keys::authenticate(&mut conn, "emsg_not-a-key", 1_001).unwrap().is_none());
        let listed = api_keys::list(&mut conn, user.id).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_used_at, Some(1_001));
        assert_eq!(api_keys::revoke(&mut conn, user.id, &info.prefix, 1_002).unwrap(), 1);
        assert!(api_keys::authenticate(&mut conn, key.expose(), 1_003).unwrap().is_none());
        assert_eq!(api_keys::list(&mut conn, user.id).unwrap()[0].revoked_at, Some(1_002));
    }
}
