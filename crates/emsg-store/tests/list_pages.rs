//! The message list and the audit log page by key: newest first, each page the rows older than
//! the last one of the page before, with every filter the pages offer; rows written while
//! someone pages neither repeat nor skip a row on the following pages; the audit page's filter
//! lists name each action and outcome once; and on SQLite, whose plans do not depend on the
//! table's size, every filter is read along its own index in order (no scan, no sort).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use diesel::sql_types::Text;

use emsg_seal::Secret;
use emsg_store::audit::{self, Actor, AuditAction, AuditEntry, AuditFilter, NewAuditEntry};
use emsg_store::db::DbConnection;
use emsg_store::messages::{self, Message, MessageFilter, MessageStatus, NewMessage, Outcome};
use emsg_store::users::{self, Role};
use emsg_store::web_applications as records;
use emsg_store::{UserId, WebApplicationId};
use emsg_test_db::{Backend, TestDb, on_both_backends};

use common::*;

/// Rows a page holds in these tests: small, so that every filter spans several pages.
const PAGE: i64 = 3;

/// Two records and two users to write messages and entries about.
struct World {
    records: [WebApplicationId; 2],
    users: [i64; 2],
}

fn world(conn: &mut DbConnection) -> World {
    import_text(
        conn,
        &ring(),
        &file(&[
            record("Paging App", "s3cret-paging"),
            record("Other App", "s3cret-other"),
        ]),
        &no_env,
    );
    let password = Secret::new("a long enough password");
    World {
        records: [
            records::get(conn, "Paging App").unwrap().id,
            records::get(conn, "Other App").unwrap().id,
        ],
        users: [
            users::add(conn, "ada", Role::Finance, &password)
                .unwrap()
                .id,
            users::add(conn, "bob", Role::Finance, &password)
                .unwrap()
                .id,
        ],
    }
}

/// Message number `n`: its company, service, user and how it ended vary with `n`, so that
/// each filter matches some messages and not others, interleaved.
fn message(conn: &mut DbConnection, world: &World, n: usize) -> i64 {
    let services = ["VAT obligations", "VAT return"];
    let new = NewMessage {
        service_name: services[n % 2],
        web_application_id: world.records[n % 2],
        company: if n % 5 == 4 { "other" } else { "default" },
        user_id: (n % 3 != 2).then(|| UserId::new(world.users[n % 3 % 2])),
        connection_method: None,
        fields: "{}",
        resent_from: None,
        idempotency: None,
    };
    let id = messages::create(conn, &new, None).unwrap();
    let status = [
        MessageStatus::ResponseReceived,
        MessageStatus::BusinessError,
        MessageStatus::TechnicalError,
        MessageStatus::New,
    ][n % 4];
    if status != MessageStatus::New {
        let outcome = Outcome {
            status,
            response: None,
            error_code: None,
            error_message: None,
            detail: "ended",
        };
        messages::finish(conn, id, &outcome).unwrap();
    }
    id
}

/// Every message through the list's pages under `filter`: each page asks for one more than it
/// shows, and the next begins before the last one shown, as the pages do.
fn message_pages(conn: &mut DbConnection, filter: &MessageFilter) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let found = messages::search(
            conn,
            &MessageFilter {
                before,
                limit: PAGE + 1,
                ..filter.clone()
            },
        )
        .unwrap();
        let more = found.len() as i64 > PAGE;
        let page: Vec<i64> = found.iter().take(PAGE as usize).map(|m| m.id).collect();
        before = page.last().copied();
        pages.push(page);
        if !more {
            return pages;
        }
    }
}

/// The ids of `all` that `filter` keeps, newest first: what the pages must show, in order.
fn messages_matching(all: &[Message], filter: &MessageFilter) -> Vec<i64> {
    let mut ids: Vec<i64> = all
        .iter()
        .filter(|m| filter.service.as_ref().is_none_or(|s| *s == m.service_name))
        .filter(|m| filter.status.is_none_or(|s| s == m.status()))
        .filter(|m| filter.user_id.is_none_or(|u| Some(u) == m.user_id))
        .filter(|m| filter.company.as_ref().is_none_or(|c| *c == m.company))
        .map(|m| m.id)
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

/// The filters the Messages page offers (always within its company), and the command line's.
fn message_filters(world: &World) -> Vec<MessageFilter> {
    let of_company = |filter: MessageFilter| MessageFilter {
        company: Some("default".to_owned()),
        ..filter
    };
    let mut filters = vec![
        MessageFilter::default(),
        MessageFilter {
            status: Some(MessageStatus::BusinessError),
            ..MessageFilter::default()
        },
        MessageFilter {
            service: Some("VAT return".to_owned()),
            ..MessageFilter::default()
        },
    ];
    for filter in [
        MessageFilter::default(),
        MessageFilter {
            status: Some(MessageStatus::TechnicalError),
            ..MessageFilter::default()
        },
        MessageFilter {
            service: Some("VAT obligations".to_owned()),
            ..MessageFilter::default()
        },
        MessageFilter {
            user_id: Some(world.users[1]),
            ..MessageFilter::default()
        },
        MessageFilter {
            service: Some("VAT obligations".to_owned()),
            status: Some(MessageStatus::ResponseReceived),
            ..MessageFilter::default()
        },
    ] {
        filters.push(of_company(filter));
    }
    filters
}

fn entry(world: &World, n: usize) -> NewAuditEntry {
    let actions = [
        AuditAction::Refresh,
        AuditAction::Edit,
        AuditAction::GetCode,
    ];
    let actor = if n % 4 == 3 {
        Actor::System
    } else {
        Actor::User {
            id: world.users[n % 2],
        }
    };
    let entry = NewAuditEntry::ok(actor, actions[n % 3], format!("entry {n}"))
        .on_web_application((!n.is_multiple_of(5)).then_some(world.records[n % 2]));
    if n.is_multiple_of(7) {
        entry.failed("invalid_grant", "the grant is gone")
    } else {
        entry
    }
}

fn audit_pages(conn: &mut DbConnection, filter: &AuditFilter) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let found = audit::search(
            conn,
            &AuditFilter {
                before,
                ..filter.clone()
            },
            PAGE + 1,
        )
        .unwrap();
        let more = found.len() as i64 > PAGE;
        let page: Vec<i64> = found.iter().take(PAGE as usize).map(|e| e.id).collect();
        before = page.last().copied();
        pages.push(page);
        if !more {
            return pages;
        }
    }
}

fn entries_matching(all: &[AuditEntry], filter: &AuditFilter) -> Vec<i64> {
    let mut ids: Vec<i64> = all
        .iter()
        .filter(|e| {
            filter
                .web_application_id
                .is_none_or(|r| Some(r) == e.web_application_id)
        })
        .filter(|e| filter.user_id.is_none_or(|u| Some(u) == e.user_id))
        .filter(|e| filter.action.as_ref().is_none_or(|a| *a == e.action))
        .filter(|e| filter.outcome.as_ref().is_none_or(|o| *o == e.outcome))
        .map(|e| e.id)
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

fn audit_filters(world: &World) -> Vec<AuditFilter> {
    vec![
        AuditFilter::default(),
        AuditFilter {
            web_application_id: Some(world.records[1].get()),
            ..AuditFilter::default()
        },
        AuditFilter {
            user_id: Some(world.users[0]),
            ..AuditFilter::default()
        },
        AuditFilter {
            action: Some("edit".to_owned()),
            ..AuditFilter::default()
        },
        AuditFilter {
            outcome: Some("error".to_owned()),
            ..AuditFilter::default()
        },
        AuditFilter {
            user_id: Some(world.users[1]),
            outcome: Some("ok".to_owned()),
            ..AuditFilter::default()
        },
    ]
}

on_both_backends! {
    fn the_message_list_pages_newest_first_by_id_with_each_filter(db) {
        let mut conn = db.connect();
        let world = world(&mut conn);
        for n in 0..40 {
            message(&mut conn, &world, n);
        }
        let all = messages::search(&mut conn, &MessageFilter { limit: 500, ..MessageFilter::default() }).unwrap();
        assert_eq!(all.len(), 40);
        for filter in message_filters(&world) {
            let expected = messages_matching(&all, &filter);
            assert!(expected.len() as i64 > PAGE, "{filter:?} spans pages");
            let pages = message_pages(&mut conn, &filter);
            assert!(pages[..pages.len() - 1].iter().all(|p| p.len() as i64 == PAGE), "{filter:?}: full pages before the last: {pages:?}");
            assert_eq!(pages.concat(), expected, "{filter:?}: every message once, newest first");
        }
    }

    fn messages_sent_while_someone_pages_neither_repeat_nor_skip_a_message(db) {
        let mut conn = db.connect();
        let world = world(&mut conn);
        let mut older: Vec<i64> = (0..10).map(|_| message(&mut conn, &world, 0)).collect();
        older.reverse();
        let filter = MessageFilter { company: Some("default".to_owned()), limit: PAGE + 1, ..MessageFilter::default() };
        let first = messages::search(&mut conn, &filter).unwrap();
        let before = first[PAGE as usize - 1].id;
        for _ in 0..5 {
            message(&mut conn, &world, 0);
        }
        let second = messages::search(&mut conn, &MessageFilter { before: Some(before), ..filter.clone() }).unwrap();
        let second: Vec<i64> = second.iter().map(|m| m.id).collect();
        assert_eq!(second, older[PAGE as usize..2 * PAGE as usize + 1], "the page goes on where the first ended");
    }

    fn the_audit_log_pages_newest_first_by_id_with_each_filter(db) {
        let mut conn = db.connect();
        let world = world(&mut conn);
        let batch: Vec<NewAuditEntry> = (0..30).map(|n| entry(&world, n)).collect();
        audit::record(&mut conn, &batch).unwrap();
        for n in 30..45 {
            audit::record(&mut conn, &[entry(&world, n)]).unwrap();
        }
        let all = audit::recent(&mut conn, 1000).unwrap();
        assert!(all.len() >= 45);
        for filter in audit_filters(&world) {
            let expected = entries_matching(&all, &filter);
            assert!(expected.len() as i64 > PAGE, "{filter:?} spans pages");
            let pages = audit_pages(&mut conn, &filter);
            assert!(pages[..pages.len() - 1].iter().all(|p| p.len() as i64 == PAGE), "{filter:?}: full pages before the last: {pages:?}");
            assert_eq!(pages.concat(), expected, "{filter:?}: every entry once, newest first");
        }
    }

    fn entries_written_while_someone_pages_neither_repeat_nor_skip_an_entry(db) {
        let mut conn = db.connect();
        let world = world(&mut conn);
        let edits = AuditFilter { action: Some("edit".to_owned()), ..AuditFilter::default() };
        for n in 0..10 {
            audit::record(&mut conn, &[entry(&world, n * 3 + 1)]).unwrap();
        }
        let older: Vec<i64> = audit::search(&mut conn, &edits, 100).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(older.len(), 10);
        let first = audit::search(&mut conn, &edits, PAGE + 1).unwrap();
        let before = first[PAGE as usize - 1].id;
        for n in 0..5 {
            audit::record(&mut conn, &[entry(&world, n * 3 + 1)]).unwrap();
        }
        let second = audit::search(&mut conn, &AuditFilter { before: Some(before), ..edits.clone() }, PAGE + 1).unwrap();
        let second: Vec<i64> = second.iter().map(|e| e.id).collect();
        assert_eq!(second, older[PAGE as usize..2 * PAGE as usize + 1], "the page goes on where the first ended");
    }

    fn the_audit_filter_lists_name_each_action_and_outcome_once_in_order(db) {
        let mut conn = db.connect();
        assert_eq!(audit::kinds(&mut conn).unwrap(), (Vec::<String>::new(), Vec::<String>::new()), "an empty log offers nothing");
        let world = world(&mut conn);
        let batch: Vec<NewAuditEntry> = (0..30).map(|n| entry(&world, n)).collect();
        audit::record(&mut conn, &batch).unwrap();
        let all = audit::recent(&mut conn, 1000).unwrap();
        let mut actions: Vec<String> = all.iter().map(|e| e.action.clone()).collect();
        actions.sort();
        actions.dedup();
        assert!(actions.len() >= 4, "{actions:?}");
        let (listed_actions, outcomes) = audit::kinds(&mut conn).unwrap();
        assert_eq!(listed_actions, actions);
        assert_eq!(outcomes, ["error", "ok"]);
    }
}

/// The statements `run` sends, as SQLite is given them (with `?` for each bound value).
fn statements(conn: &mut DbConnection, run: impl FnOnce(&mut DbConnection)) -> Vec<String> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = Arc::clone(&seen);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text.split(" -- binds:").next().unwrap_or_default();
            hook.lock().unwrap().push(sql.to_owned());
        }
    });
    run(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    seen.lock().unwrap().clone()
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// SQLite's plan of the one statement `run` sends, a line per step.
fn plan(conn: &mut DbConnection, run: impl FnOnce(&mut DbConnection)) -> Vec<String> {
    let sent = statements(conn, run);
    let [sql] = sent.as_slice() else {
        panic!("one statement, not {sent:#?}");
    };
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanStep>(conn)
        .unwrap()
        .into_iter()
        .map(|step| step.detail)
        .collect()
}

/// A page of `table` read along `index`: one search, no scan, no sort.
fn assert_read_along(plan: &[String], table: &str, index: &str) {
    let searches: Vec<&String> = plan.iter().filter(|step| step.contains(table)).collect();
    assert!(
        !searches.is_empty()
            && searches
                .iter()
                .all(|step| step.starts_with(&format!("SEARCH {table} USING"))
                    && step.contains(index)),
        "{table} read along {index}: {plan:#?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "no sort: {plan:#?}"
    );
}

#[test]
fn on_sqlite_each_filter_of_the_lists_reads_its_own_index_in_order() {
    let db = TestDb::new(Backend::Sqlite);
    let mut conn = db.connect();
    let world = world(&mut conn);
    let company = |filter: MessageFilter| MessageFilter {
        company: Some("default".to_owned()),
        before: Some(1_000),
        limit: PAGE + 1,
        ..filter
    };
    let messages = [
        (company(MessageFilter::default()), "messages_of_company"),
        (
            company(MessageFilter {
                status: Some(MessageStatus::BusinessError),
                ..MessageFilter::default()
            }),
            "messages_of_company_by_status",
        ),
        (
            company(MessageFilter {
                service: Some("VAT return".to_owned()),
                ..MessageFilter::default()
            }),
            "messages_of_company_by_service",
        ),
        (
            company(MessageFilter {
                user_id: Some(world.users[0]),
                ..MessageFilter::default()
            }),
            "messages_of_company_by_user",
        ),
        // The command line's list: every company's.
        (
            MessageFilter {
                status: Some(MessageStatus::New),
                limit: PAGE,
                ..MessageFilter::default()
            },
            "messages_by_status",
        ),
        (
            MessageFilter {
                service: Some("VAT return".to_owned()),
                limit: PAGE,
                ..MessageFilter::default()
            },
            "messages_by_service",
        ),
    ];
    for (filter, index) in messages {
        let plan = plan(&mut conn, |conn| {
            messages::search(conn, &filter).unwrap();
        });
        assert_read_along(&plan, "messages", index);
    }

    let before = |filter: AuditFilter| AuditFilter {
        before: Some(1_000),
        ..filter
    };
    let entries = [
        (before(AuditFilter::default()), "INTEGER PRIMARY KEY"),
        (
            before(AuditFilter {
                web_application_id: Some(world.records[0].get()),
                ..AuditFilter::default()
            }),
            "audit_entries_by_record",
        ),
        (
            before(AuditFilter {
                user_id: Some(world.users[0]),
                ..AuditFilter::default()
            }),
            "audit_entries_by_user",
        ),
        (
            before(AuditFilter {
                action: Some("edit".to_owned()),
                ..AuditFilter::default()
            }),
            "audit_entries_by_action",
        ),
        (
            before(AuditFilter {
                outcome: Some("error".to_owned()),
                ..AuditFilter::default()
            }),
            "audit_entries_by_outcome",
        ),
    ];
    for (filter, index) in entries {
        let plan = plan(&mut conn, |conn| {
            audit::search(conn, &filter, PAGE + 1).unwrap();
        });
        assert_read_along(&plan, "audit_entries", index);
    }

    // The filter lists: one statement stepping along both indexes.
    let plan = plan(&mut conn, |conn| {
        audit::kinds(conn).unwrap();
    });
    for index in ["audit_entries_by_action", "audit_entries_by_outcome"] {
        let steps: Vec<String> = plan
            .iter()
            .filter(|step| step.contains(index))
            .cloned()
            .collect();
        assert_eq!(
            steps.len(),
            2,
            "the first word and each next one: {plan:#?}"
        );
        assert_read_along(&steps, "audit_entries", index);
    }
    assert!(
        plan.iter()
            .filter(|step| step.contains("audit_entries"))
            .all(|step| step.starts_with("SEARCH audit_entries USING COVERING INDEX")),
        "{plan:#?}"
    );
}
