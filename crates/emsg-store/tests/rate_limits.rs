//! Rate limits across nodes: every reservation gets its own slot, spaced by the interval, so no
//! second ever holds more requests than the limit, whichever connection (node) reserved them.
#![allow(clippy::unwrap_used)]

use emsg_store::rate_limits::{hold_until, interval_ms, reserve};
use emsg_test_db::on_both_backends;

const KEY: &str = "test-api.service.hmrc.gov.uk client-a";

/// The most slots that fall in any window of one second starting at a slot.
fn busiest_second(slots: &mut [i64]) -> usize {
    slots.sort_unstable();
    (0..slots.len())
        .map(|i| {
            slots[i..]
                .iter()
                .take_while(|s| **s < slots[i] + 1000)
                .count()
        })
        .max()
        .unwrap_or(0)
}

on_both_backends! {
    fn an_idle_limit_sends_at_once_and_a_busy_one_queues_each_request_one_interval_later(db) {
        let mut conn = db.connect();
        let interval = interval_ms(3);
        assert_eq!(interval, 350);
        assert_eq!(reserve(&mut conn, KEY, interval, 10_000).unwrap(), 10_000);
        assert_eq!(reserve(&mut conn, KEY, interval, 10_000).unwrap(), 10_350);
        assert_eq!(reserve(&mut conn, KEY, interval, 10_100).unwrap(), 10_700);
        // Another application's limit is its own.
        assert_eq!(reserve(&mut conn, "test-api.service.hmrc.gov.uk client-b", interval, 10_100).unwrap(), 10_100);
        // Idle time earns no burst: after a pause the next request goes at once, the one after
        // it an interval later.
        assert_eq!(reserve(&mut conn, KEY, interval, 60_000).unwrap(), 60_000);
        assert_eq!(reserve(&mut conn, KEY, interval, 60_000).unwrap(), 60_350);
    }

    fn a_retry_after_holds_every_later_slot_back(db) {
        let mut conn = db.connect();
        reserve(&mut conn, KEY, 350, 1_000).unwrap();
        hold_until(&mut conn, KEY, 31_000).unwrap();
        assert_eq!(reserve(&mut conn, KEY, 350, 2_000).unwrap(), 31_000);
        // A shorter hold later does not shorten the queue.
        hold_until(&mut conn, KEY, 5_000).unwrap();
        assert_eq!(reserve(&mut conn, KEY, 350, 2_000).unwrap(), 31_350);
        // A hold on a limit never used before starts it.
        hold_until(&mut conn, "fresh", 9_000).unwrap();
        assert_eq!(reserve(&mut conn, "fresh", 350, 1_000).unwrap(), 9_000);
    }

    fn reservations_from_many_connections_at_once_never_share_a_slot_or_overfill_a_second(db) {
        let per_second = 10;
        let interval = interval_ms(per_second);
        let start = 1_000_000;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let url = db.url().clone();
                std::thread::spawn(move || {
                    let mut conn = emsg_store::db::connect(&url).unwrap();
                    (0..25).map(|_| reserve(&mut conn, KEY, interval, start).unwrap()).collect::<Vec<i64>>()
                })
            })
            .collect();
        let mut slots: Vec<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        assert_eq!(slots.len(), 100);
        let mut distinct = slots.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 100, "every reservation has a slot of its own");
        assert!(distinct.windows(2).all(|w| w[1] - w[0] == interval));
        assert!(busiest_second(&mut slots) <= per_second as usize);
    }
}
