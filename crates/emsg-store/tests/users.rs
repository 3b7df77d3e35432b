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
        assert!(users::add(&mut conn, "short", Role::Finance, &Secret::new("short")).unwrap_err().to_string().contains("at least 12"));
        assert_eq!(users::list(&mut conn).unwrap().len(), 1);
    }
}
