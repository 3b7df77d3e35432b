//! The admin page's steps kept in the database for every node: the log-in throttle (counted
//! before the password is checked, strangers cannot lock a user out), parked callbacks (only
//! for a live flow, sealed, once) and import files waiting for Confirm (sealed, per session).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use diesel::prelude::*;
use emsg_seal::Secret;
use emsg_store::db::DbConnection;
use emsg_store::login_throttle::{self, Keys, Limits, LockedBy, Reservation};
use emsg_store::parked_callbacks::{self, Answer, Parked, Taken};
use emsg_store::pending::{self, NewPending};
use emsg_store::pending_imports::{self, NewImport};
use emsg_store::users::{self, Role};
use emsg_store::{sessions, web_applications as records};
use emsg_test_db::on_both_backends;

const LIMITS: Limits = Limits {
    per_address: 20,
    per_name: 5,
    per_pair: 5,
    lock_secs: 900,
};

fn keys<'a>(address: &'a str, name: &'a str, pair: &'a str) -> Keys<'a> {
    Keys {
        address,
        name,
        pair,
    }
}

/// A flow started by a new user for a new record; returns (flow id, user id).
fn flow(
    conn: &mut DbConnection,
    ring: &emsg_seal::KeyRing,
    state_hash: &str,
    user: &str,
    expires_at: i64,
) -> (i64, i64) {
    import_text(
        conn,
        ring,
        &file(&[record("alpha", "alpha-secret")]),
        &no_env,
    );
    let record = records::get(conn, "alpha").unwrap();
    let user = match users::find(conn, user).unwrap() {
        Some(user) => user,
        None => users::add(
            conn,
            user,
            Role::Finance,
            &Secret::new("a password long enough"),
        )
        .unwrap(),
    };
    let id = pending::insert(
        conn,
        ring,
        &NewPending {
            state_hash,
            web_application_id: record.id,
            company: "default",
            user_id: emsg_store::UserId::new(user.id),
            scope: "read",
            redirect_uri: "http://127.0.0.1/oauth/callback",
            verifier: None,
            nonce: None,
            taxpayer_id: None,
            created_at: 1_000,
            expires_at,
        },
    )
    .unwrap();
    (id, user.id)
}

fn code_answer(code: &str) -> Answer {
    Answer {
        code: Some(Secret::new(code.to_owned())),
        ..Answer::default()
    }
}

on_both_backends! {
    fn the_fifth_failure_of_a_pair_locks_it_and_a_right_password_gives_its_attempt_back(db) {
        let mut conn = db.connect();
        let k = keys("addr-a", "name-f", "pair-f-a");
        for _ in 0..4 {
            assert_eq!(login_throttle::reserve(&mut conn, k, LIMITS, 1_000).unwrap(), Reservation::Allowed);
        }
        // A right password: its reservation is given back and the pair starts afresh.
        login_throttle::give_back(&mut conn, k, 1_005, 900).unwrap();
        for _ in 0..5 {
            assert_eq!(login_throttle::reserve(&mut conn, k, LIMITS, 1_010).unwrap(), Reservation::Allowed);
        }
        assert_eq!(
            login_throttle::reserve(&mut conn, k, LIMITS, 1_020).unwrap(),
            Reservation::Locked { until: 1_010 + 900, by: LockedBy::Pair }
        );
        // Refused attempts do not lengthen the lock; after it, a new window.
        assert!(matches!(login_throttle::reserve(&mut conn, k, LIMITS, 1_900).unwrap(), Reservation::Locked { .. }));
        assert_eq!(login_throttle::reserve(&mut conn, k, LIMITS, 1_910).unwrap(), Reservation::Allowed);
        assert_eq!(login_throttle::delete_expired(&mut conn, 10_000).unwrap(), 3);
    }

    fn strangers_failing_for_a_name_do_not_lock_out_an_address_that_has_not_failed(db) {
        let mut conn = db.connect();
        for stranger in ["s1", "s2", "s3", "s4", "s5"] {
            let pair = format!("pair-{stranger}");
            assert_eq!(login_throttle::reserve(&mut conn, keys(stranger, "fiona", &pair), LIMITS, 1_000).unwrap(), Reservation::Allowed);
        }
        // The name has five failures: the strangers' addresses are refused for it now…
        assert!(matches!(
            login_throttle::reserve(&mut conn, keys("s1", "fiona", "pair-s1"), LIMITS, 1_001).unwrap(),
            Reservation::Locked { by: LockedBy::Name, .. }
        ));
        // …but Fiona at her own address gets in, and so does anyone else's name from s1.
        assert_eq!(login_throttle::reserve(&mut conn, keys("office", "fiona", "pair-office"), LIMITS, 1_002).unwrap(), Reservation::Allowed);
        login_throttle::give_back(&mut conn, keys("office", "fiona", "pair-office"), 1_002, 900).unwrap();
        assert_eq!(login_throttle::reserve(&mut conn, keys("s1", "bob", "pair-bob-s1"), LIMITS, 1_003).unwrap(), Reservation::Allowed);
        // Fiona's log-in took nothing off the strangers' failures.
        assert!(matches!(
            login_throttle::reserve(&mut conn, keys("s2", "fiona", "pair-s2"), LIMITS, 1_004).unwrap(),
            Reservation::Locked { by: LockedBy::Name, .. }
        ));
    }

    fn an_address_that_failed_too_often_is_refused_for_every_name_and_adds_no_rows(db) {
        let mut conn = db.connect();
        for n in 0..20 {
            let (name, pair) = (format!("name-{n}"), format!("pair-{n}"));
            assert_eq!(login_throttle::reserve(&mut conn, keys("spray", &name, &pair), LIMITS, 1_000).unwrap(), Reservation::Allowed);
        }
        let rows = || emsg_store::schema::login_throttle::table.count();
        let before: i64 = rows().get_result(&mut conn).unwrap();
        for n in 20..60 {
            let (name, pair) = (format!("name-{n}"), format!("pair-{n}"));
            assert!(matches!(
                login_throttle::reserve(&mut conn, keys("spray", &name, &pair), LIMITS, 1_001).unwrap(),
                Reservation::Locked { by: LockedBy::Address, .. }
            ));
        }
        assert_eq!(rows().get_result::<i64>(&mut conn).unwrap(), before);
    }

    fn parallel_attempts_from_two_connections_pass_only_as_many_as_the_limit(db) {
        let allowed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let mut conn = db.connect();
                    for _ in 0..10 {
                        if login_throttle::reserve(&mut conn, keys("a", "n", "p"), LIMITS, 1_000).unwrap() == Reservation::Allowed {
                            allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(allowed.into_inner(), 5, "40 attempts, 5 checked");
    }

    fn a_callback_is_parked_only_for_a_live_flow_sealed_and_taken_once_by_its_user(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (flow_id, fiona) = flow(&mut conn, &ring, "state-hash-1", "fiona", 2_000);
        let bob = users::add(&mut conn, "bob", Role::Finance, &Secret::new("bob password long enough")).unwrap();
        let answer = code_answer("the-parked-code");
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "unknown-state", "key-0", &answer, 1_100).unwrap(), Parked::NoLiveFlow);
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-1", "key-1", &answer, 2_000).unwrap(), Parked::NoLiveFlow, "expired");
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-1", "key-1", &answer, 1_100).unwrap(), Parked::Kept);
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-1", "key-2", &answer, 1_101).unwrap(), Parked::AlreadyParked);
        let sealed: Option<Vec<u8>> = emsg_store::schema::parked_callbacks::table
            .select(emsg_store::schema::parked_callbacks::code_sealed)
            .first(&mut conn)
            .unwrap();
        assert!(!String::from_utf8_lossy(&sealed.unwrap()).contains("the-parked-code"));

        assert!(matches!(parked_callbacks::take(&mut conn, &ring, "key-1", bob.id, 1_200).unwrap(), Taken::OtherUser { .. }));
        assert!(matches!(parked_callbacks::take(&mut conn, &ring, "key-2", fiona, 1_200).unwrap(), Taken::Missing));
        match parked_callbacks::take(&mut conn, &ring, "key-1", fiona, 1_200).unwrap() {
            Taken::Answer { state_hash, answer } => {
                assert_eq!(state_hash, "state-hash-1");
                assert_eq!(answer.code.unwrap().expose(), "the-parked-code");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parked_callbacks::take(&mut conn, &ring, "key-1", fiona, 1_201).unwrap(), Taken::Missing), "once");
        // A flow whose callback arrived (or was used) parks nothing more.
        pending::record_code(&mut conn, &ring, flow_id, &Secret::new("c".to_owned()), 1_300).unwrap();
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-1", "key-3", &answer, 1_301).unwrap(), Parked::NoLiveFlow);
    }

    fn a_parked_callback_expires_with_its_flow(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (_, fiona) = flow(&mut conn, &ring, "state-hash-2", "fiona", 2_000);
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-2", "key", &code_answer("c"), 1_100).unwrap(), Parked::Kept);
        assert!(matches!(parked_callbacks::take(&mut conn, &ring, "key", fiona, 2_000).unwrap(), Taken::Missing));
    }

    fn an_import_file_waits_sealed_for_its_own_session_once(db) {
        let mut conn = db.connect();
        let ring = ring();
        let fiona = users::add(&mut conn, "fiona", Role::Administrator, &Secret::new("a password long enough")).unwrap();
        sessions::create(&mut conn, "session-1", fiona.id, "csrf", 1_000).unwrap();
        sessions::create(&mut conn, "session-2", fiona.id, "csrf", 1_000).unwrap();
        let content = b"client_secret: inline-import-secret\n";
        let new = |key| NewImport { key, session_id: "session-1", file_name: "apps.yaml", content, created_at: 1_000, expires_at: 1_600 };
        pending_imports::keep(&mut conn, &ring, &new("first")).unwrap();
        pending_imports::keep(&mut conn, &ring, &new("second")).unwrap();
        let stored: Vec<Vec<u8>> = emsg_store::schema::pending_imports::table
            .select(emsg_store::schema::pending_imports::content_sealed)
            .load(&mut conn)
            .unwrap();
        assert_eq!(stored.len(), 1, "one waiting file per session");
        assert!(!String::from_utf8_lossy(&stored[0]).contains("inline-import-secret"));
        assert_eq!(pending_imports::take(&mut conn, &ring, "first", "session-1", 1_100).unwrap(), None);
        assert_eq!(pending_imports::take(&mut conn, &ring, "second", "session-2", 1_100).unwrap(), None);
        assert_eq!(pending_imports::take(&mut conn, &ring, "second", "session-1", 1_600).unwrap(), None, "expired");
        assert_eq!(
            pending_imports::take(&mut conn, &ring, "second", "session-1", 1_100).unwrap(),
            Some(("apps.yaml".to_owned(), content.to_vec()))
        );
        assert_eq!(pending_imports::take(&mut conn, &ring, "second", "session-1", 1_100).unwrap(), None, "once");
        // Logging out deletes the session's waiting file.
        pending_imports::keep(&mut conn, &ring, &new("third")).unwrap();
        sessions::delete(&mut conn, "session-1").unwrap();
        assert_eq!(emsg_store::schema::pending_imports::table.count().get_result::<i64>(&mut conn).unwrap(), 0);
    }

    fn key_rotation_reseals_parked_codes_and_waiting_imports(db) {
        let mut conn = db.connect();
        let ring = ring();
        emsg_store::master_key::verify(&mut conn, &ring).unwrap();
        let (_, fiona) = flow(&mut conn, &ring, "state-hash-3", "fiona", 2_000);
        assert_eq!(parked_callbacks::park(&mut conn, &ring, "state-hash-3", "key", &code_answer("rotated-code"), 1_100).unwrap(), Parked::Kept);
        sessions::create(&mut conn, "session", fiona, "csrf", 1_000).unwrap();
        let new = |key| NewImport { key, session_id: "session", file_name: "a.yaml", content: b"text", created_at: 1_000, expires_at: 1_600 };
        pending_imports::keep(&mut conn, &ring, &new("import")).unwrap();
        let next = emsg_seal::MasterKey::generate();
        emsg_store::rotation::rotate(&mut conn, &emsg_seal::SharedKeyRing::new(ring.clone()), next.clone(), &emsg_store::rotation::RotationOptions::default()).unwrap();
        let only_new = emsg_seal::KeyRing::new(next);
        match parked_callbacks::take(&mut conn, &only_new, "key", fiona, 1_200).unwrap() {
            Taken::Answer { answer, .. } => assert_eq!(answer.code.unwrap().expose(), "rotated-code"),
            other => panic!("{other:?}"),
        }
        assert_eq!(pending_imports::take(&mut conn, &only_new, "import", "session", 1_100).unwrap().unwrap().1, b"text");
    }
}
