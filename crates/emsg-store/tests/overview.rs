//! The Web applications page's one-statement read of a record: the connection the user acts on
//! (their own for a user-specific record, the company's otherwise), its authorizer's name, and
//! the code the user's latest flow captured while it waits for Obtain access token.
#![allow(clippy::unwrap_used)]

mod common;

use emsg_seal::{KeyRing, Secret};
use emsg_store::UserId;
use emsg_store::connections::{self, Authorization, ConnectionKey, Tokens};
use emsg_store::db::DbConnection;
use emsg_store::overview;
use emsg_store::pending::{self, NewPending};
use emsg_store::users::{self, Role};
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

use common::*;

const COMPANY: &str = "default";

fn setup(conn: &mut DbConnection, ring: &KeyRing) -> (UserId, UserId) {
    let specific = format!(
        "{}    user_specific: true\n",
        record("Landlord App", "s3cret-l")
    );
    import_text(
        conn,
        ring,
        &file(&[record("Shared App", "s3cret-s"), specific]),
        &no_env,
    );
    let password = Secret::new("a long enough password");
    let fiona = users::add(conn, "fiona", Role::Finance, &password).unwrap();
    let lars = users::add(conn, "lars", Role::Finance, &password).unwrap();
    (UserId::new(fiona.id), UserId::new(lars.id))
}

fn connect(conn: &mut DbConnection, ring: &KeyRing, app: &str, user: UserId, company: &str) {
    let record = records::get(conn, app).unwrap();
    let key = ConnectionKey::new(record.id, company, record.user_specific, Some(user));
    let tokens = Tokens {
        access_token: Secret::new("access-overview"),
        refresh_token: Some(Secret::new("refresh-overview")),
        token_type: "Bearer".to_owned(),
        granted_scope: Some("read write".to_owned()),
        access_expires_at: Some(emsg_store::now() + 3600),
    };
    let authorization = Authorization {
        authorized_by: Some(user),
        authorized_at: emsg_store::now(),
        authorization_expires_at: None,
        taxpayer_id: None,
    };
    connections::store_authorization(conn, ring, &key, &tokens, &authorization, emsg_store::now())
        .unwrap();
}

/// A flow started by `user` at `at`, expiring 600 s later; its id.
fn flow(
    conn: &mut DbConnection,
    ring: &KeyRing,
    app: &str,
    user: UserId,
    state: &str,
    at: i64,
) -> i64 {
    let record = records::get(conn, app).unwrap();
    pending::insert(
        conn,
        ring,
        &NewPending {
            state_hash: state,
            web_application_id: record.id,
            company: COMPANY,
            user_id: user,
            scope: "read write",
            redirect_uri: "http://127.0.0.1:8080/oauth/callback",
            verifier: None,
            nonce: None,
            taxpayer_id: None,
            created_at: at,
            expires_at: at + 600,
        },
    )
    .unwrap()
}

on_both_backends! {
    fn a_shared_record_shows_the_companys_connection_to_every_user(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (fiona, lars) = setup(&mut conn, &ring);
        let now = emsg_store::now();
        assert!(overview::find(&mut conn, "Shared App", COMPANY, lars, now).unwrap().unwrap().connection.is_none());
        connect(&mut conn, &ring, "Shared App", fiona, COMPANY);
        // Another company's connection is not this company's.
        connect(&mut conn, &ring, "Shared App", fiona, "other-company");

        let seen = overview::find(&mut conn, "shared app", COMPANY, lars, now).unwrap().unwrap();
        assert_eq!(seen.record.name, "Shared App", "the name matches ignoring case");
        let connection = seen.connection.unwrap();
        assert_eq!((connection.user_key, connection.company.as_str()), (0, COMPANY));
        assert_eq!(seen.authorized_by.as_deref(), Some("fiona"));
        assert!(overview::find(&mut conn, "No Such App", COMPANY, lars, now).unwrap().is_none());
    }

    fn a_user_specific_record_shows_each_user_only_their_own_connection(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (fiona, lars) = setup(&mut conn, &ring);
        let now = emsg_store::now();
        connect(&mut conn, &ring, "Landlord App", fiona, COMPANY);

        let hers = overview::find(&mut conn, "Landlord App", COMPANY, fiona, now).unwrap().unwrap();
        assert_eq!(hers.connection.unwrap().user_key, fiona.get());
        assert_eq!(hers.authorized_by.as_deref(), Some("fiona"));
        let his = overview::find(&mut conn, "Landlord App", COMPANY, lars, now).unwrap().unwrap();
        assert!(his.connection.is_none(), "lars has not connected");
        assert_eq!(his.authorized_by, None);

        connect(&mut conn, &ring, "Landlord App", lars, COMPANY);
        let his = overview::find(&mut conn, "Landlord App", COMPANY, lars, now).unwrap().unwrap();
        assert_eq!(his.connection.unwrap().user_key, lars.get());
        assert_eq!(his.authorized_by.as_deref(), Some("lars"));
    }

    fn the_engine_reads_a_record_with_the_connection_and_its_users_names(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (fiona, lars) = setup(&mut conn, &ring);
        connect(&mut conn, &ring, "Shared App", fiona, COMPANY);
        connect(&mut conn, &ring, "Landlord App", lars, COMPANY);
        let named = |conn: &mut DbConnection, app: &str, user: UserId| {
            connections::find_named_with_record(conn, app, COMPANY, Some(user)).unwrap()
        };

        let (record, found) = named(&mut conn, "shared app", lars).unwrap();
        assert_eq!(record.name, "Shared App");
        let (c, user, by) = found.unwrap();
        assert_eq!((c.user_key, user, by.as_deref()), (0, None, Some("fiona")), "the company's");

        let (_, found) = named(&mut conn, "Landlord App", lars).unwrap();
        let (c, user, by) = found.unwrap();
        assert_eq!((c.user_key, user.as_deref(), by.as_deref()), (lars.get(), Some("lars"), Some("lars")));
        let (_, found) = named(&mut conn, "Landlord App", fiona).unwrap();
        assert!(found.is_none(), "fiona has no connection of her own");
        assert!(named(&mut conn, "No Such App", fiona).is_none());
    }

    fn only_the_users_latest_unused_unexpired_code_is_waiting(db) {
        let mut conn = db.connect();
        let ring = ring();
        let (fiona, lars) = setup(&mut conn, &ring);
        let now = emsg_store::now();
        let waiting = |conn: &mut DbConnection, user: UserId, at: i64| {
            overview::find(conn, "Shared App", COMPANY, user, at).unwrap().unwrap().code_waiting_since
        };
        assert_eq!(waiting(&mut conn, fiona, now), None, "no flow yet");

        let first = flow(&mut conn, &ring, "Shared App", fiona, "state-1", now - 100);
        assert_eq!(waiting(&mut conn, fiona, now), None, "started, no code yet");
        assert!(pending::record_code(&mut conn, &ring, first, &Secret::new("code-1"), now - 50).unwrap());
        assert_eq!(waiting(&mut conn, fiona, now), Some(now - 50));
        assert_eq!(waiting(&mut conn, lars, now), None, "another user's flow is not theirs");
        assert_eq!(waiting(&mut conn, fiona, now + 600), None, "expired");

        // A newer flow without a code hides the older code: Obtain access token uses the latest.
        let second = flow(&mut conn, &ring, "Shared App", fiona, "state-2", now - 10);
        assert_eq!(waiting(&mut conn, fiona, now), None);
        let app = records::get(&mut conn, "Shared App").unwrap().id;
        assert_eq!(pending::latest(&mut conn, app, COMPANY, fiona).unwrap().unwrap().id, second);
        assert!(pending::record_code(&mut conn, &ring, second, &Secret::new("code-2"), now - 5).unwrap());
        assert_eq!(waiting(&mut conn, fiona, now), Some(now - 5));
        assert!(pending::mark_used(&mut conn, second, now).unwrap());
        assert_eq!(waiting(&mut conn, fiona, now), None, "used");
    }
}
