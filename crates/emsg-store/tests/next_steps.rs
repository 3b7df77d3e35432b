//! The next steps of messages as rows: a due step is taken by one node at a time, a wait is a
//! later due time, a node whose lease ran out cannot record its late result, and nodes taking
//! at once never take the same step.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;

use emsg_store::MessageId;
use emsg_store::db::DbConnection;
use emsg_store::messages::{self, NewMessage};
use emsg_store::next_steps::{Then, due_count, finish, schedule, take_due};
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

use common::*;

const LEASE: i64 = 60_000;

/// `n` stored messages of one record.
fn messages(conn: &mut DbConnection, n: usize) -> Vec<MessageId> {
    import_text(
        conn,
        &ring(),
        &file(&[record("Steps App", "s3cret-steps")]),
        &no_env,
    );
    let record = records::get(conn, "Steps App").unwrap();
    (0..n)
        .map(|_| {
            let new = NewMessage {
                service_name: "Steps service",
                web_application_id: record.id,
                company: "default",
                user_id: None,
                connection_method: None,
                fields: "{}",
                resent_from: None,
                idempotency: None,
            };
            MessageId::new(messages::create(conn, &new, None).unwrap())
        })
        .collect()
}

on_both_backends! {
    fn a_due_step_is_taken_once_and_a_later_one_waits_for_its_time(db) {
        let mut conn = db.connect();
        let ids = messages(&mut conn, 2);
        schedule(&mut conn, ids[0], 0, 1_000).unwrap();
        schedule(&mut conn, ids[1], 0, 5_000).unwrap();
        assert_eq!(due_count(&mut conn, 1_000).unwrap(), 1);

        let taken = take_due(&mut conn, "node-a", 1_000, LEASE, 10).unwrap();
        assert_eq!(taken.len(), 1, "only the step due by then");
        assert_eq!((taken[0].message, taken[0].step, taken[0].attempts), (ids[0], 0, 1));
        assert!(take_due(&mut conn, "node-b", 2_000, LEASE, 10).unwrap().is_empty(), "held by node-a's lease");
        assert_eq!(due_count(&mut conn, 2_000).unwrap(), 0);

        // The wait of the second message is its due time: it is taken once that time comes.
        let later = take_due(&mut conn, "node-b", 5_000, LEASE, 10).unwrap();
        assert_eq!(later.iter().map(|t| t.message).collect::<Vec<_>>(), [ids[1]]);
    }

    fn a_finished_step_moves_the_message_on_waits_again_or_ends_it(db) {
        let mut conn = db.connect();
        let id = messages(&mut conn, 1)[0];
        schedule(&mut conn, id, 0, 1_000).unwrap();

        let first = take_due(&mut conn, "node-a", 1_000, LEASE, 1).unwrap().remove(0);
        assert!(finish(&mut conn, &first, Then::Next { step: 1, due_at_ms: 1_000 }).unwrap());
        let second = take_due(&mut conn, "node-a", 1_000, LEASE, 1).unwrap().remove(0);
        assert_eq!((second.step, second.attempts), (1, 1));

        // A poll that must look again: the same step, later, its attempts counting on.
        assert!(finish(&mut conn, &second, Then::Again { due_at_ms: 31_000 }).unwrap());
        assert!(take_due(&mut conn, "node-a", 30_999, LEASE, 1).unwrap().is_empty());
        let again = take_due(&mut conn, "node-a", 31_000, LEASE, 1).unwrap().remove(0);
        assert_eq!((again.step, again.attempts), (1, 2));

        assert!(finish(&mut conn, &again, Then::Done).unwrap());
        assert!(take_due(&mut conn, "node-a", i64::MAX / 2, LEASE, 10).unwrap().is_empty());
        assert_eq!(due_count(&mut conn, i64::MAX / 2).unwrap(), 0);
    }

    fn a_node_whose_lease_ran_out_cannot_record_its_late_result(db) {
        let mut conn = db.connect();
        let id = messages(&mut conn, 1)[0];
        schedule(&mut conn, id, 2, 1_000).unwrap();

        // node-a takes the step and stops answering (killed, or stalled past its lease).
        let stale = take_due(&mut conn, "node-a", 1_000, LEASE, 1).unwrap().remove(0);
        assert!(take_due(&mut conn, "node-b", 1_000 + LEASE - 1, LEASE, 1).unwrap().is_empty());
        let fresh = take_due(&mut conn, "node-b", 1_000 + LEASE, LEASE, 1).unwrap().remove(0);
        assert_eq!((fresh.message, fresh.step, fresh.attempts), (id, 2, 2));
        assert!(fresh.fence > stale.fence);

        assert!(!finish(&mut conn, &stale, Then::Next { step: 3, due_at_ms: 0 }).unwrap(), "node-a's result is refused");
        assert!(finish(&mut conn, &fresh, Then::Next { step: 3, due_at_ms: 0 }).unwrap());
        let next = take_due(&mut conn, "node-b", 1_000 + LEASE, LEASE, 1).unwrap().remove(0);
        assert_eq!(next.step, 3, "node-b's result is the one recorded");
    }

    fn a_person_rescheduling_a_message_ends_the_lease_on_its_step(db) {
        let mut conn = db.connect();
        let id = messages(&mut conn, 1)[0];
        schedule(&mut conn, id, 4, 1_000).unwrap();
        let running = take_due(&mut conn, "node-a", 1_000, LEASE, 1).unwrap().remove(0);
        // A person continues the message at another step (or cancels and restarts it).
        schedule(&mut conn, id, 0, 1_000).unwrap();
        assert!(!finish(&mut conn, &running, Then::Done).unwrap());
        let taken = take_due(&mut conn, "node-b", 1_000, LEASE, 1).unwrap().remove(0);
        assert_eq!((taken.step, taken.attempts), (0, 1));
    }

    fn nodes_taking_at_once_never_take_the_same_step(db) {
        let mut conn = db.connect();
        let ids = messages(&mut conn, 120);
        for id in &ids {
            schedule(&mut conn, *id, 0, 1_000).unwrap();
        }
        let nodes: Vec<_> = (0..4)
            .map(|node| {
                let url = db.url().clone();
                std::thread::spawn(move || {
                    let mut conn = emsg_store::db::connect(&url).unwrap();
                    let owner = format!("node-{node}");
                    let mut mine = Vec::new();
                    loop {
                        let taken = take_due(&mut conn, &owner, 1_000, LEASE, 7).unwrap();
                        if taken.is_empty() {
                            return mine;
                        }
                        for step in taken {
                            assert!(finish(&mut conn, &step, Then::Done).unwrap());
                            mine.push(step.message);
                        }
                    }
                })
            })
            .collect();
        let runs: Vec<MessageId> = nodes.into_iter().flat_map(|n| n.join().unwrap()).collect();
        let distinct: HashSet<MessageId> = runs.iter().copied().collect();
        assert_eq!(runs.len(), ids.len(), "every step ran once: {} runs", runs.len());
        assert_eq!(distinct, ids.into_iter().collect::<HashSet<_>>());
    }
}
