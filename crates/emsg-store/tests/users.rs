//! Users: unique names, roles, argon2id hashes.
#![allow(clippy::unwrap_used)]

use emsg_seal::Secret;
use emsg_store::users::{self, Role};
use emsg_test_db::on_both_backends;

on_both_backends! {
    fn a_user_is_stored_with_an_argon2id_hash_and_logs_in_with_the_password(db) {
        let mut conn = db.connect();
        let user = users::add(&mut conn, "fiona", Role::Finance, &Secret::new("correct horse battery")).unwrap();
        assert_eq!(user.role, Role::Finance);
        let hash: String = {
            use diesel::prelude::*;
            emsg_store::schema::users::table.select(emsg_store::schema::users::password_hash).first(&mut conn).unwrap()
        };
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(users::verify_password(&mut conn, "fiona", &Secret::new("correct horse battery")).unwrap().is_some());
        assert!(users::verify_password(&mut conn, "fiona", &Secret::new("wrong horse battery")).unwrap().is_none());
        assert!(users::verify_password(&mut conn, "nobody", &Secret::new("correct horse battery")).unwrap().is_none());
    }

    fn names_are_unique_and_bad_input_is_refused(db) {
        let mut conn = db.connect();
        users::add(&mut conn, "fiona", Role::Finance, &Secret::new("correct horse battery")).unwrap();
        assert!(users::add(&mut conn, "fiona", Role::Administrator, &Secret::new("correct horse battery")).unwrap_err().to_string().contains("already exists"));
        assert!(users::add(&mut conn, "bad name", Role::Finance, &Secret::new("correct horse battery")).is_err());
        for dots in [".", ".."] {
            assert!(users::add(&mut conn, dots, Role::Finance, &Secret::new("correct horse battery")).unwrap_err().to_string().contains("not only dots"));
        }
        assert!(users::add(&mut conn, "short", Role::Finance, &Secret::new("short")).unwrap_err().to_string().contains("at least 12"));
        assert_eq!(users::list(&mut conn).unwrap().len(), 1);
    }
}

mod lifecycle {
    use diesel::prelude::*;
    use emsg_seal::Secret;
    use emsg_store::audit::{self, Actor};
    use emsg_store::db::DbConnection;
    use emsg_store::users::{self, Role, User};
    use emsg_store::{api_keys, sessions};
    use emsg_test_db::on_both_backends;

    const LIMITS: sessions::Limits = sessions::Limits {
        idle: 3600,
        lifetime: 7 * 24 * 3600,
    };
    const PASSWORD: &str = "fiona password long enough";

    fn add(conn: &mut DbConnection, name: &str, role: Role) -> User {
        users::add(conn, name, role, &Secret::new(PASSWORD)).unwrap()
    }

    fn live(conn: &mut DbConnection, session: &str) -> bool {
        sessions::find(conn, session, LIMITS, emsg_store::now(), false)
            .unwrap()
            .is_some()
    }

    fn key_works(conn: &mut DbConnection, key: &Secret) -> bool {
        api_keys::authenticate(conn, key.expose(), emsg_store::now())
            .unwrap()
            .is_some()
    }

    fn last_action(conn: &mut DbConnection) -> (String, String) {
        let entry = audit::recent(conn, 1).unwrap().remove(0);
        (entry.action, entry.detail)
    }

    on_both_backends! {
        fn a_one_time_password_must_be_changed_and_the_change_ends_the_other_sessions_only(db) {
            let mut conn = db.connect();
            let (user, once) = users::add_with_one_time_password(&mut conn, "fiona", Role::Finance, &Actor::Operator).unwrap();
            assert!(user.must_change_password);
            let logged_in = users::verify_password(&mut conn, "fiona", &once).unwrap().unwrap();
            assert!(logged_in.must_change_password, "the flag comes with the log-in");
            let now = emsg_store::now();
            sessions::create(&mut conn, "here", user.id, "c", now).unwrap();
            sessions::create(&mut conn, "elsewhere", user.id, "c", now).unwrap();
            let (key, _) = api_keys::create(&mut conn, user.id, now).unwrap();
            let same = users::change_own_password(&mut conn, user.id, &once, &once, Some("here"), false);
            assert!(same.unwrap_err().to_string().contains("same as the current"));
            let wrong = users::change_own_password(&mut conn, user.id, &Secret::new("not the password at all"), &Secret::new(PASSWORD), Some("here"), false);
            assert!(matches!(wrong, Err(emsg_store::StoreError::WrongPassword)));
            let ended = users::change_own_password(&mut conn, user.id, &once, &Secret::new(PASSWORD), Some("here"), false).unwrap();
            assert_eq!(ended, users::Ended { sessions: 1, api_keys: 0 });
            assert!(live(&mut conn, "here") && !live(&mut conn, "elsewhere"));
            assert!(key_works(&mut conn, &key), "API keys stay unless asked");
            let now_user = users::verify_password(&mut conn, "fiona", &Secret::new(PASSWORD)).unwrap().unwrap();
            assert!(!now_user.must_change_password);
            assert!(users::verify_password(&mut conn, "fiona", &once).unwrap().is_none());
            let (action, detail) = last_action(&mut conn);
            assert_eq!(action, "change-password");
            assert!(!detail.contains(PASSWORD) && !detail.contains(once.expose()));
            // Asked to, the change revokes the API keys too.
            users::change_own_password(&mut conn, user.id, &Secret::new(PASSWORD), &Secret::new("another long password"), Some("here"), true).unwrap();
            assert!(!key_works(&mut conn, &key));
        }

        fn disabling_ends_every_session_and_key_and_refuses_the_log_in_until_enabled(db) {
            let mut conn = db.connect();
            let _admin = add(&mut conn, "root", Role::Administrator);
            let fiona = add(&mut conn, "fiona", Role::Finance);
            sessions::create(&mut conn, "s", fiona.id, "c", emsg_store::now()).unwrap();
            let (key, _) = api_keys::create(&mut conn, fiona.id, emsg_store::now()).unwrap();
            let ended = users::disable(&mut conn, fiona.id, &Actor::Operator).unwrap();
            assert_eq!(ended, users::Ended { sessions: 1, api_keys: 1 });
            assert!(!live(&mut conn, "s") && !key_works(&mut conn, &key));
            assert!(users::verify_password(&mut conn, "fiona", &Secret::new(PASSWORD)).unwrap().is_none());
            assert_eq!(last_action(&mut conn).0, "disable-user");
            // A session row planted for a disabled user does not work either.
            sessions::create(&mut conn, "t", fiona.id, "c", emsg_store::now()).unwrap();
            assert!(!live(&mut conn, "t"));
            users::enable(&mut conn, fiona.id, &Actor::Operator).unwrap();
            assert!(users::verify_password(&mut conn, "fiona", &Secret::new(PASSWORD)).unwrap().is_some());
            assert!(!key_works(&mut conn, &key), "revoked keys stay revoked");
            assert_eq!(last_action(&mut conn).0, "enable-user");
        }

        fn the_last_enabled_administrator_is_never_disabled_removed_or_demoted(db) {
            let mut conn = db.connect();
            let root = add(&mut conn, "root", Role::Administrator);
            let other = add(&mut conn, "other", Role::Administrator);
            users::disable(&mut conn, other.id, &Actor::Operator).unwrap();
            for refused in [
                users::disable(&mut conn, root.id, &Actor::Operator).map(|_| ()),
                users::remove(&mut conn, root.id, &Actor::Operator).map(|_| ()),
                users::set_role(&mut conn, root.id, Role::Finance, &Actor::Operator).map(|_| ()),
            ] {
                let message = refused.unwrap_err().to_string();
                assert!(message.contains("root is the last enabled administrator"), "{message}");
            }
            assert!(users::verify_password(&mut conn, "root", &Secret::new(PASSWORD)).unwrap().is_some());
            assert_eq!(users::find(&mut conn, "root").unwrap().unwrap().role, Role::Administrator);
            // With another enabled administrator, it is allowed.
            users::enable(&mut conn, other.id, &Actor::Operator).unwrap();
            users::set_role(&mut conn, root.id, Role::Finance, &Actor::Operator).unwrap();
            assert_eq!(last_action(&mut conn).0, "change-role");
        }

        fn a_role_change_ends_the_sessions_and_a_removal_hides_the_user_but_keeps_the_name(db) {
            let mut conn = db.connect();
            let _root = add(&mut conn, "root", Role::Administrator);
            let fiona = add(&mut conn, "fiona", Role::Finance);
            sessions::create(&mut conn, "s", fiona.id, "c", emsg_store::now()).unwrap();
            let (key, _) = api_keys::create(&mut conn, fiona.id, emsg_store::now()).unwrap();
            users::set_role(&mut conn, fiona.id, Role::Administrator, &Actor::Operator).unwrap();
            assert!(!live(&mut conn, "s"));
            assert_eq!(api_keys::authenticate(&mut conn, key.expose(), emsg_store::now()).unwrap().unwrap().role, Role::Administrator);
            sessions::create(&mut conn, "t", fiona.id, "c", emsg_store::now()).unwrap();
            let ended = users::remove(&mut conn, fiona.id, &Actor::Operator).unwrap();
            assert_eq!(ended, users::Ended { sessions: 1, api_keys: 1 });
            assert!(users::find(&mut conn, "fiona").unwrap().is_none());
            assert!(users::list(&mut conn).unwrap().iter().all(|u| u.name != "fiona"));
            assert!(users::get(&mut conn, fiona.id).unwrap().unwrap().removed, "history still names her");
            assert!(users::verify_password(&mut conn, "fiona", &Secret::new(PASSWORD)).unwrap().is_none());
            assert!(users::add(&mut conn, "fiona", Role::Finance, &Secret::new(PASSWORD)).is_err(), "the name is not reused");
            let (action, detail) = last_action(&mut conn);
            assert_eq!((action.as_str(), detail.contains("fiona removed")), ("remove-user", true));
            let left: i64 = emsg_store::schema::sessions::table.count().get_result(&mut conn).unwrap();
            assert_eq!(left, 0);
        }

        fn logging_out_everywhere_ends_sessions_and_on_request_keys(db) {
            let mut conn = db.connect();
            let fiona = add(&mut conn, "fiona", Role::Finance);
            sessions::create(&mut conn, "s", fiona.id, "c", emsg_store::now()).unwrap();
            sessions::create(&mut conn, "t", fiona.id, "c", emsg_store::now()).unwrap();
            let (key, _) = api_keys::create(&mut conn, fiona.id, emsg_store::now()).unwrap();
            let ended = users::log_out_everywhere(&mut conn, fiona.id, false, &Actor::User { id: fiona.id }).unwrap();
            assert_eq!(ended, users::Ended { sessions: 2, api_keys: 0 });
            assert!(key_works(&mut conn, &key));
            users::log_out_everywhere(&mut conn, fiona.id, true, &Actor::Operator).unwrap();
            assert!(!key_works(&mut conn, &key));
            assert_eq!(last_action(&mut conn).0, "logout-everywhere");
            // An administrator's one-time password makes the user choose again.
            let once = users::generate_password().unwrap();
            users::set_password(&mut conn, fiona.id, &once, true, false, &Actor::Operator).unwrap();
            assert!(users::verify_password(&mut conn, "fiona", &once).unwrap().unwrap().must_change_password);
        }
    }
}
