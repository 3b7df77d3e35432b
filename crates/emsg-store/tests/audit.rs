//! A change and its audit entry commit together: an entry that cannot be written (here, one
//! naming a user that does not exist, which its foreign key refuses) leaves the change unmade,
//! unless the change records what a provider already did.
#![allow(clippy::unwrap_used)]

mod common;

use emsg_seal::{KeyRing, Secret};
use emsg_store::audit::{self, Actor, AuditAction, AuditEntry, NewAuditEntry};
use emsg_store::db::DbConnection;
use emsg_store::users::{self, Role};
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

use common::*;

/// An actor the entry's foreign key refuses.
const NO_SUCH_USER: Actor = Actor::User { id: 987_654 };

/// A record holding the client secret `s3cret-before`; its id.
fn record_with_secret(conn: &mut DbConnection, ring: &KeyRing) -> emsg_store::WebApplicationId {
    import_text(
        conn,
        ring,
        &file(&[record("Secret App", "s3cret-before")]),
        &no_env,
    );
    records::get(conn, "Secret App").unwrap().id
}

fn secret_of(conn: &mut DbConnection, ring: &KeyRing) -> String {
    let record = records::get(conn, "Secret App").unwrap();
    record
        .client_secret(ring)
        .unwrap()
        .unwrap()
        .expose()
        .to_owned()
}

/// An entry as read back: action, actor, connection, outcome, error code, detail.
type Shown = (String, String, Option<i64>, String, Option<String>, String);

fn entries(conn: &mut DbConnection) -> Vec<AuditEntry> {
    audit::recent(conn, 1000).unwrap()
}

on_both_backends! {
    fn a_client_secret_is_set_with_its_audit_entry(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = record_with_secret(&mut conn, &ring);
        let fiona = users::add(&mut conn, "fiona", Role::Administrator, &Secret::new("a long enough password")).unwrap();
        records::set_client_secret(&mut conn, &ring, id, &Secret::new("s3cret-after"), &Actor::User { id: fiona.id }, "client secret set on the page").unwrap();
        assert_eq!(secret_of(&mut conn, &ring), "s3cret-after");
        let newest = entries(&mut conn).remove(0);
        assert_eq!(
            (newest.action.as_str(), newest.actor.as_str(), newest.user_id, newest.web_application_id, newest.outcome.as_str(), newest.detail.as_str()),
            ("set-client-secret", "user", Some(fiona.id), Some(id.get()), "ok", "client secret set on the page")
        );
    }

    fn a_client_secret_whose_audit_entry_cannot_be_written_is_not_set(db) {
        let mut conn = db.connect();
        let ring = ring();
        let id = record_with_secret(&mut conn, &ring);
        let before = entries(&mut conn);
        let refused = records::set_client_secret(&mut conn, &ring, id, &Secret::new("s3cret-after"), &NO_SUCH_USER, "client secret set on the page");
        assert!(refused.is_err(), "the entry's foreign key must refuse a user that does not exist");
        assert_eq!(secret_of(&mut conn, &ring), "s3cret-before", "the secret changed without its audit entry");
        assert_eq!(entries(&mut conn), before);
    }

    fn a_change_is_undone_when_its_entry_cannot_be_written(db) {
        let mut conn = db.connect();
        let refused = audit::with_entry(
            &mut conn,
            |conn| users::add(conn, "george", Role::Finance, &Secret::new("a long enough password")),
            |user| NewAuditEntry::ok(NO_SUCH_USER, AuditAction::AddUser, format!("user {} added", user.name)),
        );
        assert!(refused.is_err());
        assert!(users::find(&mut conn, "george").unwrap().is_none(), "the user was added without the entry");
        assert!(entries(&mut conn).is_empty());
    }

    fn a_change_and_its_entry_are_both_written(db) {
        let mut conn = db.connect();
        let user = audit::with_entry(
            &mut conn,
            |conn| users::add(conn, "george", Role::Finance, &Secret::new("a long enough password")),
            |user| NewAuditEntry::ok(Actor::Operator, AuditAction::AddUser, format!("user {} added", user.name)),
        )
        .unwrap();
        assert_eq!(users::find(&mut conn, "george").unwrap().map(|u| u.id), Some(user.id));
        let written = entries(&mut conn);
        assert_eq!(written.len(), 1);
        assert_eq!((written[0].action.as_str(), written[0].actor.as_str(), written[0].detail.as_str()), ("add-user", "operator", "user george added"));
    }

    fn a_change_a_provider_already_made_is_kept_and_its_unwritten_entry_handed_back(db) {
        let mut conn = db.connect();
        let (user, unwritten) = audit::with_entry_or_alone(
            &mut conn,
            |conn| users::add(conn, "george", Role::Finance, &Secret::new("a long enough password")),
            |user| NewAuditEntry::ok(NO_SUCH_USER, AuditAction::AddUser, format!("user {} added", user.name)),
        )
        .unwrap();
        assert_eq!(users::find(&mut conn, "george").unwrap().map(|u| u.id), Some(user.id));
        assert_eq!(unwritten.map(|e| e.detail), Some("user george added".to_owned()));
        assert!(entries(&mut conn).is_empty());
    }

    fn many_entries_are_written_with_their_actions_words_in_one_call(db) {
        let mut conn = db.connect();
        let written: Vec<NewAuditEntry> = AuditAction::ALL
            .into_iter()
            .map(|action| NewAuditEntry::ok(Actor::System, action, action.as_str()).on_connection(emsg_store::ConnectionId::new(7)))
            .chain([NewAuditEntry::ok(Actor::Operator, AuditAction::Refresh, "refused").failed("invalid_grant", "the grant is dead")])
            .collect();
        audit::record(&mut conn, &written).unwrap();
        let mut read = entries(&mut conn);
        read.sort_by_key(|e| e.id);
        let shown: Vec<Shown> = read
            .into_iter()
            .map(|e| (e.action, e.actor, e.connection_id, e.outcome, e.error_code, e.detail))
            .collect();
        let mut expected: Vec<Shown> = AuditAction::ALL
            .iter()
            .map(|a| (a.as_str().to_owned(), "system".to_owned(), Some(7), "ok".to_owned(), None, a.as_str().to_owned()))
            .collect();
        expected.push(("refresh".to_owned(), "operator".to_owned(), None, "error".to_owned(), Some("invalid_grant".to_owned()), "the grant is dead".to_owned()));
        assert_eq!(shown, expected);
    }
}
