//! The one schema both backends share (portable SQL types only; see `db::types`).

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    web_applications (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        description -> Text,
        base_url -> Text,
        authorization_url -> Nullable<Text>,
        token_url -> Nullable<Text>,
        revocation_url -> Nullable<Text>,
        redirect_url -> Nullable<Text>,
        client_id -> Nullable<Text>,
        client_id_env -> Nullable<Text>,
        client_secret_sealed -> Nullable<Binary>,
        client_secret_env -> Nullable<Text>,
        scope -> Text,
        authorization_params -> Text,
        client_auth -> Text,
        pkce -> Bool,
        accept -> Nullable<Text>,
        content_type -> Nullable<Text>,
        code_lifetime_secs -> BigInt,
        authorization_lifetime_secs -> Nullable<BigInt>,
        user_specific -> Bool,
        obtain_token_on_callback -> Bool,
        issuer -> Nullable<Text>,
        exchange_source_id -> Nullable<BigInt>,
        exchange_url -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    master_key_check (id) {
        id -> BigInt,
        key_id -> Text,
        sealed -> Binary,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_entries (id) {
        id -> BigInt,
        at -> BigInt,
        user_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        web_application_id -> Nullable<BigInt>,
        connection_id -> Nullable<BigInt>,
        outcome -> Text,
        error_code -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::joinable!(audit_entries -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    web_applications,
    master_key_check,
    audit_entries
);
