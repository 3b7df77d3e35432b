//! The one schema both backends share (portable SQL types only; see `db::types`).

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        must_change_password -> Bool,
        disabled_at -> Nullable<BigInt>,
        removed_at -> Nullable<BigInt>,
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
        captures -> Text,
        parameter_choices -> Text,
        rate_limit -> Nullable<Integer>,
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

diesel::table! {
    connections (id) {
        id -> BigInt,
        web_application_id -> BigInt,
        company -> Text,
        user_key -> BigInt,
        status -> Text,
        access_token_sealed -> Nullable<Binary>,
        refresh_token_sealed -> Nullable<Binary>,
        token_type -> Nullable<Text>,
        granted_scope -> Nullable<Text>,
        access_expires_at -> Nullable<BigInt>,
        authorized_by -> Nullable<BigInt>,
        authorized_at -> Nullable<BigInt>,
        authorization_expires_at -> Nullable<BigInt>,
        taxpayer_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_error_code -> Nullable<Text>,
        refresh_failures -> BigInt,
        last_refreshed_at -> Nullable<BigInt>,
        version -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    pending_authorizations (id) {
        id -> BigInt,
        state_hash -> Text,
        web_application_id -> BigInt,
        company -> Text,
        user_id -> BigInt,
        scope -> Text,
        redirect_uri -> Text,
        verifier_sealed -> Nullable<Binary>,
        nonce -> Nullable<Text>,
        taxpayer_id -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        callback_at -> Nullable<BigInt>,
        code_sealed -> Nullable<Binary>,
        code_received_at -> Nullable<BigInt>,
        error -> Nullable<Text>,
        error_description -> Nullable<Text>,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        csrf -> Text,
        flash_kind -> Nullable<Text>,
        flash_text -> Nullable<Text>,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        prefix -> Text,
        key_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    generations (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(connections -> web_applications (web_application_id));
diesel::joinable!(pending_authorizations -> web_applications (web_application_id));
diesel::joinable!(next_steps -> messages (message_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    web_applications,
    master_key_check,
    audit_entries,
    connections,
    pending_authorizations,
    web_services,
    messages,
    message_events,
    settings,
    sessions,
    api_keys,
    generations,
    master_keys,
    key_ring_nodes,
    next_steps,
    processings,
    message_exchanges,
    message_files,
    schedules
);

diesel::table! {
    web_services (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        web_application_id -> BigInt,
        spec -> Text,
        body -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        service_name -> Text,
        web_application_id -> BigInt,
        company -> Text,
        user_id -> Nullable<BigInt>,
        connection_method -> Nullable<Text>,
        fields -> Text,
        status -> Text,
        request_method -> Nullable<Text>,
        request_url -> Nullable<Text>,
        request_headers -> Nullable<Text>,
        request_body -> Nullable<Text>,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        resent_from -> Nullable<BigInt>,
        resent_as -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        processing -> Nullable<Text>,
        processing_spec -> Nullable<Text>,
        step -> Nullable<Integer>,
        step_since_ms -> Nullable<BigInt>,
        extracted -> Text,
        acting_user_id -> Nullable<BigInt>,
        origin -> Nullable<Text>,
    }
}

diesel::table! {
    processings (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        spec -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    message_exchanges (id) {
        id -> BigInt,
        message_id -> BigInt,
        step -> Integer,
        purpose -> Text,
        state -> Text,
        request_method -> Text,
        request_url -> Text,
        request_headers -> Text,
        request_body -> Nullable<Text>,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        attachment -> Nullable<Text>,
        note -> Text,
        started_at_ms -> BigInt,
        ended_at_ms -> Nullable<BigInt>,
    }
}

diesel::joinable!(message_exchanges -> messages (message_id));

diesel::table! {
    message_files (message_id, name) {
        message_id -> BigInt,
        name -> Text,
        body -> Binary,
    }
}

diesel::joinable!(message_files -> messages (message_id));

diesel::table! {
    schedules (processing_key) {
        processing_key -> Text,
        every_ms -> BigInt,
        next_due_at_ms -> BigInt,
    }
}

diesel::table! {
    message_events (id) {
        id -> BigInt,
        message_id -> BigInt,
        status -> Text,
        detail -> Text,
        at -> BigInt,
    }
}

diesel::joinable!(web_services -> web_applications (web_application_id));
diesel::joinable!(message_events -> messages (message_id));

diesel::table! {
    master_keys (id) {
        id -> BigInt,
        key_id -> Text,
        role -> Text,
        wrapped_key -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    next_steps (message_id) {
        message_id -> BigInt,
        step -> Integer,
        due_at_ms -> BigInt,
        attempts -> Integer,
        fence -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        tat_ms -> BigInt,
    }
}

diesel::table! {
    key_ring_nodes (node_id) {
        node_id -> Text,
        description -> Text,
        sealing_key_id -> Text,
        known_key_ids -> Text,
        poll_ms -> BigInt,
        seen_at_ms -> BigInt,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    login_throttle (key_hash) {
        key_hash -> Text,
        failures -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    parked_callbacks (id) {
        id -> BigInt,
        pending_authorization_id -> BigInt,
        resume_key_hash -> Text,
        code_sealed -> Nullable<Binary>,
        error -> Nullable<Text>,
        error_description -> Nullable<Text>,
        iss -> Nullable<Text>,
        parked_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    pending_imports (id) {
        id -> BigInt,
        key_hash -> Text,
        session_hash -> Text,
        file_name -> Text,
        content_sealed -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::joinable!(parked_callbacks -> pending_authorizations (pending_authorization_id));
diesel::allow_tables_to_appear_in_same_query!(parked_callbacks, pending_authorizations);
