//! Behaviour of sealing and opening through a `KeyRing`.

#![allow(clippy::unwrap_used)]

use super::KeyRing;
use crate::{Aad, MasterKey, SealError, Secret};

const TOKEN: &str = "1//0refresh-token-that-must-stay-secret";

fn aad() -> Aad<'static> {
    Aad::new("connections", "refresh_token", 7)
}

fn ring() -> KeyRing {
    KeyRing::new(MasterKey::generate())
}

#[test]
fn a_sealed_value_opens_to_the_same_bytes() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    assert_eq!(
        ring.open(&sealed, &aad()).unwrap().as_slice(),
        TOKEN.as_bytes()
    );
}

#[test]
fn an_empty_value_seals_to_the_minimum_length_and_opens_empty() {
    let ring = ring();
    let sealed = ring.seal(b"", &aad());
    assert_eq!(sealed.len(), crate::MIN_SEALED_LEN);
    assert!(ring.open(&sealed, &aad()).unwrap().is_empty());
}

#[test]
fn a_sealed_value_starts_with_the_current_key_id_and_hides_the_plaintext() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    assert_eq!(sealed[..8], ring.current_id().to_bytes());
    assert_eq!(sealed.len(), 8 + 24 + TOKEN.len() + 16);
    assert!(
        !sealed
            .windows(8)
            .any(|w| TOKEN.as_bytes().windows(8).any(|t| t == w))
    );
    assert_eq!(ring.key_id_of(&sealed).unwrap(), ring.current_id());
}

#[test]
fn sealing_the_same_value_twice_gives_different_bytes_because_the_nonce_is_fresh() {
    let ring = ring();
    let first = ring.seal(TOKEN.as_bytes(), &aad());
    let second = ring.seal(TOKEN.as_bytes(), &aad());
    assert_ne!(first[8..32], second[8..32], "nonces must differ");
    assert_ne!(first, second);
}

#[test]
fn a_ring_with_another_key_reports_the_unknown_key_id() {
    let sealing = ring();
    let sealed = sealing.seal(TOKEN.as_bytes(), &aad());
    let other = ring();
    let err = other.open(&sealed, &aad()).unwrap_err();
    assert_eq!(
        err,
        SealError::UnknownKey {
            key_id: sealing.current_id(),
            table: "connections".into(),
            column: "refresh_token".into(),
            row: 7,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains(&sealing.current_id().to_string()),
        "{message}"
    );
    assert!(message.contains("EMSG_MASTER_KEY"), "{message}");
    assert!(
        message.contains("connections.refresh_token of row 7"),
        "{message}"
    );
}

#[test]
fn flipping_any_single_byte_of_a_sealed_value_makes_it_fail_to_open() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    for position in 0..sealed.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut altered = sealed.clone();
            altered[position] ^= mask;
            let err = ring.open(&altered, &aad()).unwrap_err();
            if position < 8 {
                // The key id no longer names a loaded key.
                assert!(
                    matches!(err, SealError::UnknownKey { .. }),
                    "{position}: {err:?}"
                );
            } else {
                assert!(
                    matches!(err, SealError::Unopenable { .. }),
                    "{position}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn a_value_opened_for_another_row_column_or_table_fails_authentication() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    for elsewhere in [
        Aad::new("connections", "refresh_token", 8),
        Aad::new("connections", "access_token", 7),
        Aad::new("web_applications", "refresh_token", 7),
    ] {
        let err = ring.open(&sealed, &elsewhere).unwrap_err();
        assert_eq!(
            err,
            SealError::Unopenable {
                table: elsewhere.table.into(),
                column: elsewhere.column.into(),
                row: elsewhere.row,
            }
        );
    }
}

#[test]
fn inputs_too_short_to_hold_key_id_nonce_and_tag_are_reported_as_truncated() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    for len in [0, 7, 8, 31, 32, 47] {
        let err = ring.open(&sealed[..len], &aad()).unwrap_err();
        assert!(
            matches!(err, SealError::Truncated { len: l, .. } if l == len),
            "{err:?}"
        );
        assert!(matches!(
            ring.key_id_of(&sealed[..len]),
            Err(SealError::TooShort { len: l }) if l == len
        ));
    }
}

#[test]
fn a_rotated_ring_opens_old_values_and_seals_new_ones_under_the_new_key() {
    let old = MasterKey::generate();
    let old_id = old.id();
    let new = MasterKey::generate();
    let new_id = new.id();
    let before = KeyRing::new(old);
    let sealed_before = before.seal(TOKEN.as_bytes(), &aad());

    let rotated = before.with_current(new);
    assert_eq!(rotated.current_id(), new_id);
    assert!(rotated.contains(old_id) && rotated.contains(new_id));
    assert_eq!(rotated.key_id_of(&sealed_before).unwrap(), old_id);
    assert_eq!(
        rotated.open(&sealed_before, &aad()).unwrap().as_slice(),
        TOKEN.as_bytes()
    );

    let sealed_after = rotated.seal(TOKEN.as_bytes(), &aad());
    assert_eq!(rotated.key_id_of(&sealed_after).unwrap(), new_id);
    let old_only =
        KeyRing::new(MasterKey::from_base64(rotated.extra[&old_id].to_base64().expose()).unwrap());
    assert!(matches!(
        old_only.open(&sealed_after, &aad()),
        Err(SealError::UnknownKey { key_id, .. }) if key_id == new_id
    ));
}

#[test]
fn an_extra_key_opens_values_but_never_seals_them() {
    let pending = MasterKey::generate();
    let pending_id = pending.id();
    let node_a = KeyRing::new(MasterKey::generate()).with_current(pending.clone());
    let node_b = KeyRing::new(MasterKey::generate()).with_extra(pending);
    assert!(node_b.contains(pending_id));
    assert_ne!(node_b.current_id(), pending_id);

    let sealed = node_a.seal(TOKEN.as_bytes(), &aad());
    assert_eq!(
        node_b.open(&sealed, &aad()).unwrap().as_slice(),
        TOKEN.as_bytes()
    );
    assert_eq!(
        node_b.key_id_of(&node_b.seal(b"x", &aad())).unwrap(),
        node_b.current_id()
    );
}

#[test]
fn a_secret_survives_sealing_and_opening() {
    let ring = ring();
    let sealed = ring.seal_secret(&Secret::new(TOKEN), &aad());
    assert_eq!(ring.open_secret(&sealed, &aad()).unwrap().expose(), TOKEN);
}

#[test]
fn bytes_that_are_not_utf8_do_not_open_as_a_secret() {
    let ring = ring();
    let sealed = ring.seal(&[0xff, 0xfe, 0x00], &aad());
    assert!(matches!(
        ring.open_secret(&sealed, &aad()),
        Err(SealError::NotUtf8 { row: 7, .. })
    ));
}

#[test]
fn debug_of_a_key_ring_shows_key_ids_but_no_key() {
    let current = MasterKey::generate();
    let old = MasterKey::generate();
    let encoded = [current.to_base64(), old.to_base64()];
    let ring = KeyRing::new(old).with_current(current);
    let shown = format!("{ring:?}");
    for key in &encoded {
        assert!(!shown.contains(key.expose()), "{shown}");
    }
    assert!(shown.contains(&ring.current_id().to_string()), "{shown}");
}

#[test]
fn no_error_message_contains_the_plaintext() {
    let ring = ring();
    let sealed = ring.seal(TOKEN.as_bytes(), &aad());
    let mut altered = sealed.clone();
    altered[40] ^= 1;
    let errors = [
        ring.open(&altered, &aad()).unwrap_err(),
        ring.open(&sealed, &Aad::new("connections", "refresh_token", 8))
            .unwrap_err(),
        KeyRing::new(MasterKey::generate())
            .open(&sealed, &aad())
            .unwrap_err(),
        ring.open(&sealed[..47], &aad()).unwrap_err(),
        ring.open_secret(&ring.seal(&[0xff, b's', b'3'], &aad()), &aad())
            .unwrap_err(),
    ];
    for err in errors {
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("s3"), "{shown}");
    }
}

#[test]
fn a_key_wrapped_under_the_current_key_unwraps_to_the_same_key_and_only_in_its_place() {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let ring = KeyRing::new(old.clone()).with_extra(new.clone());
    let place = Aad::new("master_keys", "wrapped_key", 1);
    let wrapped = ring.wrap_key(new.id(), &place).unwrap();

    let holder_of_old_only = KeyRing::new(old);
    let unwrapped = holder_of_old_only.unwrap_key(&wrapped, &place).unwrap();
    assert_eq!(unwrapped.id(), new.id());
    assert!(
        holder_of_old_only
            .unwrap_key(&wrapped, &Aad::new("master_keys", "wrapped_key", 2))
            .is_err()
    );
    assert!(ring.wrap_key(MasterKey::generate().id(), &place).is_none());
}

#[test]
fn a_shared_ring_hands_out_the_ring_stored_last() {
    let first = MasterKey::generate();
    let second = MasterKey::generate();
    let shared = crate::SharedKeyRing::new(KeyRing::new(first.clone()));
    let before = shared.load();
    shared.store(KeyRing::new(first).with_current(second.clone()));
    assert_eq!(shared.load().current_id(), second.id());
    assert_ne!(
        before.current_id(),
        second.id(),
        "a ring already taken stays as it was"
    );
    assert_eq!(shared.clone().load().key_ids().len(), 2);
}
