//! The names-only, paged, filtered list the Web applications page shows.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;

fn file(names: &[String]) -> String {
    let mut text = String::from("web_applications:\n");
    for name in names {
        text.push_str(&format!(
            "  - name: \"{name}\"
    base_url: https://api.example.com
    authorization_url: https://www.example.com/oauth/authorize
    token_url: https://api.example.com/oauth/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: client
    client_secret: null
    scope: read
"
        ));
    }
    text
}

on_both_backends! {
    fn names_come_a_page_at_a_time_in_name_order_with_a_total(db) {
        let mut conn = db.connect();
        let ring = ring();
        let mut names: Vec<String> = (0..250).map(|i| format!("Record {i:03}")).collect();
        names.push("Rate 100% _special_".to_owned());
        import_text(&mut conn, &ring, &file(&names), &no_env);
        let (first, total) = records::names_page(&mut conn, None, 0, 100).unwrap();
        assert_eq!(total, 251);
        assert_eq!(first.len(), 100);
        assert_eq!(first[0], "Rate 100% _special_");
        assert_eq!(first[1], "Record 000");
        let (last, _) = records::names_page(&mut conn, None, 200, 100).unwrap();
        assert_eq!(last.len(), 51);
        assert_eq!(last[50], "Record 249");
        let (past_the_end, total) = records::names_page(&mut conn, None, 300, 100).unwrap();
        assert!(past_the_end.is_empty());
        assert_eq!(total, 251, "a page past the end still counts the names");
    }

    fn the_filter_ignores_case_and_takes_wildcards_literally(db) {
        let mut conn = db.connect();
        let ring = ring();
        let names: Vec<String> = ["HMRC VAT", "HMRC ITSA", "NO Altinn", "Rate 100% _special_", "Rate 1000"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        import_text(&mut conn, &ring, &file(&names), &no_env);
        let (found, total) = records::names_page(&mut conn, Some("hmrc"), 0, 100).unwrap();
        assert_eq!((found, total), (vec!["HMRC ITSA".to_owned(), "HMRC VAT".to_owned()], 2));
        let (found, _) = records::names_page(&mut conn, Some("100%"), 0, 100).unwrap();
        assert_eq!(found, vec!["Rate 100% _special_".to_owned()], "% is not a wildcard");
        let (found, _) = records::names_page(&mut conn, Some("_"), 0, 100).unwrap();
        assert_eq!(found, vec!["Rate 100% _special_".to_owned()], "_ is not a wildcard");
        let (found, total) = records::names_page(&mut conn, Some("nothing like it"), 0, 100).unwrap();
        assert!(found.is_empty());
        assert_eq!(total, 0);
    }
}
