//! The database schema, shared by both backends. Column types are the portable subset:
//! `BigInt` ids, `Text` for exact decimals (see `storage::decimal`), `Timestamp` in UTC, `Date`.

diesel::table! {
    partner (id) {
        id -> BigInt,
        name -> Text,
        address -> Text,
        country -> Text,
        tax_id -> Text,
        invoice_prefix -> Text,
        payment_terms_days -> Integer,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        name -> Text,
        billing_address -> Text,
        email -> Text,
        country -> Text,
        currency -> Text,
        tax_rate_percent -> Text,
        tax_id -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamp,
        tax_treatment -> Text,
        exemption_reason -> Text,
    }
}

diesel::table! {
    /// What never changes over time; the terms are in `plan_versions`.
    plans (id) {
        id -> BigInt,
        name -> Text,
        currency -> Text,
        billing_model -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A plan's terms from `effective_from` on (SPEC 7.2); unique per (plan, date).
    plan_versions (id) {
        id -> BigInt,
        plan_id -> BigInt,
        effective_from -> Date,
        created_at -> Timestamp,
        scope -> Text,
        hourly_rate -> Nullable<Text>,
        category_rates -> Text,
        after_hours_multiplier -> Text,
        rounding_increment_minutes -> Integer,
        minimum_minutes -> Integer,
        monthly_fee -> Nullable<Text>,
        included_minutes -> Nullable<Integer>,
        incident_fee -> Nullable<Text>,
        chargeable_categories -> Text,
        hours_of_service -> Text,
        contact_methods -> Text,
        holiday_calendar_id -> Nullable<BigInt>,
        rounding_scope -> Text,
        fee_proration -> Text,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> BigInt,
        customer_id -> BigInt,
        plan_id -> BigInt,
        product -> Text,
        name -> Text,
        external_id -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        /// SPEC 7.1: the first day covered.
        start_date -> Date,
        /// SPEC 7.1: the first day no longer covered (exclusive); none while open-ended.
        end_date -> Nullable<Date>,
    }
}

diesel::table! {
    invoices (id) {
        id -> BigInt,
        customer_id -> BigInt,
        currency -> Text,
        period_start -> Date,
        period_end -> Date,
        status -> Text,
        number -> Nullable<Text>,
        issued_at -> Nullable<Timestamp>,
        due_date -> Nullable<Date>,
        subtotal -> Text,
        tax_rate_percent -> Text,
        tax -> Text,
        total -> Text,
        snapshot -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invoice_lines (id) {
        id -> BigInt,
        invoice_id -> BigInt,
        position -> Integer,
        subscription_id -> BigInt,
        kind -> Text,
        category -> Nullable<Text>,
        month -> Nullable<Date>,
        description -> Text,
        quantity -> Text,
        quantity_minutes -> Nullable<Text>,
        unit_price -> Text,
        amount -> Text,
        plan_version -> Nullable<Date>,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        title -> Text,
        category -> Text,
        severity -> Text,
        opened_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        escalation_channel -> Nullable<Text>,
        escalation_case_id -> Nullable<Text>,
        escalated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Which invoice bills a ticket (one at a time: the key is the ticket).
    ticket_claims (ticket_id) {
        ticket_id -> BigInt,
        invoice_id -> BigInt,
    }
}

diesel::table! {
    time_entries (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        agent -> Text,
        started_at -> Timestamp,
        minutes -> Integer,
        category -> Text,
        billable -> Bool,
        description -> Text,
    }
}

diesel::table! {
    /// Which invoice bills a time entry (one at a time: the key is the entry).
    time_entry_claims (time_entry_id) {
        time_entry_id -> BigInt,
        invoice_id -> BigInt,
    }
}

diesel::table! {
    charges (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        date -> Date,
        description -> Text,
        amount -> Text,
        invoice_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    retainer_claims (id) {
        id -> BigInt,
        invoice_id -> BigInt,
        subscription_id -> BigInt,
        month -> Date,
        fee_claimed -> Bool,
        allowance_used -> Text,
    }
}

diesel::table! {
    /// Prepaid blocks of minutes (SPEC 7.5); `invoice_id` bills the purchase.
    prepaid_blocks (id) {
        id -> BigInt,
        subscription_id -> BigInt,
        purchased_on -> Date,
        expires_on -> Nullable<Date>,
        minutes -> Integer,
        price -> Text,
        invoice_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Weighted minutes a draft or issued invoice draws from a block.
    block_draws (invoice_id, block_id) {
        invoice_id -> BigInt,
        block_id -> BigInt,
        minutes -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        customer_id -> Nullable<BigInt>,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    credit_notes (id) {
        id -> BigInt,
        invoice_id -> BigInt,
        customer_id -> BigInt,
        number -> Text,
        full_credit -> Bool,
        reason -> Text,
        currency -> Text,
        issued_at -> Timestamp,
        subtotal -> Text,
        tax_rate_percent -> Text,
        tax -> Text,
        total -> Text,
        snapshot -> Text,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        api_key_id -> BigInt,
        idem_key -> Text,
        fingerprint -> Text,
        status -> Nullable<Integer>,
        headers -> Text,
        body -> Nullable<Binary>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        api_key_id -> Nullable<BigInt>,
        request_id -> Text,
        method -> Text,
        route -> Text,
        status -> Integer,
        resource_type -> Text,
        resource_id -> Nullable<BigInt>,
        action -> Text,
    }
}

diesel::joinable!(subscriptions -> customers (customer_id));
diesel::joinable!(subscriptions -> plans (plan_id));
diesel::joinable!(plan_versions -> plans (plan_id));
diesel::joinable!(time_entries -> subscriptions (subscription_id));
diesel::joinable!(time_entry_claims -> time_entries (time_entry_id));
diesel::joinable!(time_entry_claims -> invoices (invoice_id));
diesel::joinable!(tickets -> subscriptions (subscription_id));
diesel::joinable!(ticket_claims -> tickets (ticket_id));
diesel::joinable!(ticket_claims -> invoices (invoice_id));
diesel::joinable!(charges -> subscriptions (subscription_id));
diesel::joinable!(retainer_claims -> subscriptions (subscription_id));
diesel::joinable!(prepaid_blocks -> subscriptions (subscription_id));
diesel::joinable!(block_draws -> prepaid_blocks (block_id));
diesel::joinable!(block_draws -> invoices (invoice_id));
diesel::table! {
    /// Sessions of the finance page; the cookie's id only as its hash.
    web_sessions (token_hash) {
        token_hash -> Text,
        api_key_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    /// Holiday calendars (SPEC 7.3), named by plan versions.
    holiday_calendars (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The days of a holiday calendar, one per date.
    holiday_days (calendar_id, date) {
        calendar_id -> BigInt,
        date -> Date,
        name -> Text,
    }
}

diesel::joinable!(holiday_days -> holiday_calendars (calendar_id));
diesel::joinable!(web_sessions -> api_keys (api_key_id));
diesel::joinable!(invoice_lines -> invoices (invoice_id));
diesel::joinable!(invoices -> customers (customer_id));

diesel::allow_tables_to_appear_in_same_query!(
    partner,
    counters,
    customers,
    plans,
    plan_versions,
    subscriptions,
    invoices,
    invoice_lines,
    tickets,
    ticket_claims,
    time_entries,
    time_entry_claims,
    charges,
    retainer_claims,
    prepaid_blocks,
    block_draws,
    api_keys,
    credit_notes,
    idempotency_keys,
    audit_log,
    web_sessions,
    holiday_calendars,
    holiday_days,
);
