// Written by hand to cover both backends: money is `Decimal`, time is `UtcTimestamp`
// (see sql_types.rs). Keep in step with migrations/postgres and migrations/sqlite.

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    tenants (id) {
        id -> Text,
        name -> Text,
        created_at -> UtcTimestamp,
        settings -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_at -> UtcTimestamp,
        last_used_at -> Nullable<UtcTimestamp>,
        revoked_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    customers (id) {
        id -> Text,
        tenant_id -> Text,
        external_id -> Nullable<Text>,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        address -> Nullable<Text>,
        timezone -> Text,
        locale -> Nullable<Text>,
        metadata -> Text,
        status -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        archived_at -> Nullable<UtcTimestamp>,
        test_clock_id -> Nullable<Text>,
        billing -> Text,
        auto_pay -> Bool,
        tax_exempt -> Text,
        tax_rate_ids -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    idempotency_keys (tenant_id, key) {
        tenant_id -> Text,
        key -> Text,
        fingerprint -> Text,
        created_at -> UtcTimestamp,
        locked_at -> UtcTimestamp,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    portal_sessions (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        mode -> Text,
        return_url -> Nullable<Text>,
        sections -> Text,
        permissions -> Text,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        idle_timeout_seconds -> Nullable<BigInt>,
        last_seen_at -> UtcTimestamp,
        ended_at -> Nullable<UtcTimestamp>,
        end_reason -> Nullable<Text>,
        created_by_key_id -> Nullable<Text>,
        login_code_hash -> Text,
        login_code_expires_at -> UtcTimestamp,
        login_code_used_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    audit_events (id) {
        id -> Text,
        tenant_id -> Text,
        occurred_at -> UtcTimestamp,
        action -> Text,
        actor -> Text,
        customer_id -> Nullable<Text>,
        session_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    wallets (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        name -> Text,
        currency -> Text,
        conversion_rate -> ExactDecimal,
        status -> Text,
        balance -> ExactDecimal,
        ledger_seq -> BigInt,
        next_expiry_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        low_balance_threshold -> Nullable<ExactDecimal>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    credit_lots (id) {
        id -> Text,
        tenant_id -> Text,
        wallet_id -> Text,
        kind -> Text,
        priority -> Integer,
        granted -> ExactDecimal,
        available -> ExactDecimal,
        expires_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    wallet_transactions (id) {
        id -> Text,
        tenant_id -> Text,
        wallet_id -> Text,
        seq -> BigInt,
        #[sql_name = "type"]
        tx_type -> Text,
        credits -> ExactDecimal,
        value -> ExactDecimal,
        balance_before -> ExactDecimal,
        balance_after -> ExactDecimal,
        reason -> Text,
        description -> Nullable<Text>,
        reference -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        allocations -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    invoices (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        number -> Nullable<Text>,
        status -> Text,
        payment_status -> Text,
        currency -> Text,
        memo -> Nullable<Text>,
        lines -> Text,
        subtotal -> ExactDecimal,
        total -> ExactDecimal,
        total_minor -> BigInt,
        amount_paid -> ExactDecimal,
        due_at -> Nullable<UtcTimestamp>,
        issued_at -> Nullable<UtcTimestamp>,
        voided_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        subscription_id -> Nullable<Text>,
        billing_period_start -> Nullable<UtcTimestamp>,
        reverse_charge -> Bool,
        amount_credited -> ExactDecimal,
        bill_to -> Nullable<Text>,
        revised_at -> Nullable<UtcTimestamp>,
        discounts -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    coupons (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        percent_off -> Nullable<ExactDecimal>,
        amount_off -> Nullable<ExactDecimal>,
        currency -> Nullable<Text>,
        duration -> Text,
        duration_in_periods -> Nullable<Integer>,
        max_redemptions -> Nullable<BigInt>,
        times_redeemed -> BigInt,
        redeem_by -> Nullable<UtcTimestamp>,
        plan_codes -> Text,
        active -> Bool,
        created_at -> UtcTimestamp,
        archived_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    promotion_codes (id) {
        id -> Text,
        tenant_id -> Text,
        coupon_id -> Text,
        code -> Text,
        code_key -> Text,
        max_redemptions -> Nullable<BigInt>,
        times_redeemed -> BigInt,
        expires_at -> Nullable<UtcTimestamp>,
        customer_id -> Nullable<Text>,
        first_time_only -> Bool,
        active -> Bool,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    credit_notes (id) {
        id -> Text,
        tenant_id -> Text,
        invoice_id -> Text,
        customer_id -> Text,
        number -> Text,
        currency -> Text,
        status -> Text,
        reason -> Text,
        memo -> Nullable<Text>,
        refund_to -> Text,
        lines -> Text,
        tax_amounts -> Text,
        subtotal -> ExactDecimal,
        total_tax -> ExactDecimal,
        total -> ExactDecimal,
        wallet_id -> Nullable<Text>,
        credits -> Nullable<ExactDecimal>,
        refund_ids -> Text,
        created_at -> UtcTimestamp,
        voided_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    invoice_counters (tenant_id, period) {
        tenant_id -> Text,
        period -> Text,
        last_number -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    payments (id) {
        id -> Text,
        tenant_id -> Text,
        invoice_id -> Text,
        customer_id -> Text,
        amount -> ExactDecimal,
        currency -> Text,
        method -> Text,
        status -> Text,
        wallet_id -> Nullable<Text>,
        credits -> Nullable<ExactDecimal>,
        reference -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        amount_refunded -> ExactDecimal,
        created_at -> UtcTimestamp,
        payment_method_id -> Nullable<Text>,
        payment_url -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    refunds (id) {
        id -> Text,
        tenant_id -> Text,
        payment_id -> Text,
        invoice_id -> Text,
        amount -> ExactDecimal,
        credits -> Nullable<ExactDecimal>,
        reason -> Nullable<Text>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    features (id) {
        id -> Text,
        tenant_id -> Text,
        key -> Text,
        name -> Text,
        unit -> Text,
        aggregation -> Text,
        value_property -> Nullable<Text>,
        unit_price -> ExactDecimal,
        currency -> Text,
        archived -> Bool,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    usage_events (id) {
        id -> Text,
        tenant_id -> Text,
        event_id -> Text,
        customer_id -> Text,
        feature_key -> Text,
        timestamp -> UtcTimestamp,
        properties -> Text,
        quantity -> ExactDecimal,
        received_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    usage_counters (tenant_id, customer_id, period_start, feature_key) {
        tenant_id -> Text,
        customer_id -> Text,
        feature_key -> Text,
        period_start -> UtcTimestamp,
        period_end -> UtcTimestamp,
        events -> BigInt,
        quantity_sum -> ExactDecimal,
        quantity_max -> ExactDecimal,
        limit_reached_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    usage_rollups (tenant_id, customer_id, hour, feature_key) {
        tenant_id -> Text,
        customer_id -> Text,
        feature_key -> Text,
        hour -> UtcTimestamp,
        events -> BigInt,
        quantity_sum -> ExactDecimal,
        quantity_max -> ExactDecimal,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    plans (id) {
        id -> Text,
        tenant_id -> Text,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        currency -> Text,
        billing_interval -> Text,
        interval_count -> Integer,
        amount -> ExactDecimal,
        trial_days -> Integer,
        charges -> Text,
        entitlements -> Text,
        visibility -> Text,
        status -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        past_due_action -> Text,
        tax_rate_ids -> Text,
        quantity_min -> Integer,
        quantity_max -> Nullable<Integer>,
        purchase -> Text,
        contact_url -> Nullable<Text>,
        license_keys -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    tax_rates (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        percentage -> ExactDecimal,
        inclusive -> Bool,
        country -> Nullable<Text>,
        description -> Nullable<Text>,
        active -> Bool,
        created_at -> UtcTimestamp,
        archived_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    subscriptions (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        plan_id -> Text,
        status -> Text,
        billing_anchor -> Text,
        collection -> Text,
        anchor_at -> UtcTimestamp,
        billing_interval -> Text,
        interval_count -> Integer,
        started_at -> UtcTimestamp,
        current_period_start -> UtcTimestamp,
        current_period_end -> UtcTimestamp,
        trial_end -> Nullable<UtcTimestamp>,
        cancel_at_period_end -> Bool,
        canceled_at -> Nullable<UtcTimestamp>,
        ended_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        test_clock_id -> Nullable<Text>,
        period_index -> Integer,
        due_at -> Nullable<UtcTimestamp>,
        collection_retry_at -> Nullable<UtcTimestamp>,
        dunning_attempts -> Integer,
        billing_retry_at -> Nullable<UtcTimestamp>,
        billing_error -> Nullable<Text>,
        pending_plan_id -> Nullable<Text>,
        pending_lines -> Text,
        cancellation_reason -> Nullable<Text>,
        cancellation_comment -> Nullable<Text>,
        quantity -> Integer,
        pending_quantity -> Nullable<Integer>,
        discount -> Nullable<Text>,
        retention_accepted_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    test_clocks (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Nullable<Text>,
        frozen_time -> UtcTimestamp,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        status -> Text,
        advancing_to -> Nullable<UtcTimestamp>,
        lease_until -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    billing_runs (id) {
        id -> Text,
        tenant_id -> Text,
        subscription_id -> Text,
        customer_id -> Text,
        kind -> Text,
        period_start -> Nullable<UtcTimestamp>,
        invoice_id -> Nullable<Text>,
        outcome -> Text,
        error -> Nullable<Text>,
        source -> Text,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    payment_methods (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        provider -> Text,
        provider_reference -> Text,
        brand -> Nullable<Text>,
        last4 -> Nullable<Text>,
        exp_month -> Nullable<Integer>,
        exp_year -> Nullable<Integer>,
        holder_name -> Nullable<Text>,
        bank_name -> Nullable<Text>,
        is_default -> Bool,
        status -> Text,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        detached_at -> Nullable<UtcTimestamp>,
    }
}

diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(portal_sessions -> customers (customer_id));
diesel::joinable!(customers -> tenants (tenant_id));
diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    guest_sessions (id) {
        id -> Text,
        tenant_id -> Text,
        return_url -> Nullable<Text>,
        created_at -> UtcTimestamp,
        expires_at -> UtcTimestamp,
        ended_at -> Nullable<UtcTimestamp>,
        end_reason -> Nullable<Text>,
        created_by_key_id -> Text,
        login_code_hash -> Text,
        login_code_expires_at -> UtcTimestamp,
        login_code_used_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhook_endpoints (id) {
        id -> Text,
        tenant_id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Nullable<Text>,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<UtcTimestamp>,
        failing_since -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhook_events (id) {
        id -> Text,
        tenant_id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        payload -> Text,
        created_at -> UtcTimestamp,
        dispatched -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        event_id -> Text,
        endpoint_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    webhook_attempts (id) {
        id -> Text,
        tenant_id -> Text,
        delivery_id -> Text,
        number -> Integer,
        attempted_at -> UtcTimestamp,
        http_status -> Nullable<Integer>,
        duration_ms -> BigInt,
        response_excerpt -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    emails (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Nullable<Text>,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        source -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> UtcTimestamp,
        created_at -> UtcTimestamp,
        updated_at -> UtcTimestamp,
        sent_at -> Nullable<UtcTimestamp>,
        content -> Text,
    }
}

diesel::table! {
    wallet_lot_checks (wallet_id) {
        wallet_id -> Text,
        tenant_id -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    alerts (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        alert_type -> Text,
        feature_key -> Nullable<Text>,
        currency -> Nullable<Text>,
        threshold -> ExactDecimal,
        created_by -> Text,
        created_at -> UtcTimestamp,
        triggered_at -> Nullable<UtcTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::{ExactDecimal, UtcTimestamp};

    alert_triggers (alert_id, period) {
        tenant_id -> Text,
        alert_id -> Text,
        period -> Text,
        value -> ExactDecimal,
        triggered_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    license_keys (id) {
        id -> Text,
        tenant_id -> Text,
        customer_id -> Text,
        subscription_id -> Nullable<Text>,
        sealed_key -> Text,
        key_digest -> Text,
        activation_limit -> Nullable<Integer>,
        activations -> Integer,
        with_subscription -> Bool,
        expires_at -> Nullable<UtcTimestamp>,
        disabled_at -> Nullable<UtcTimestamp>,
        created_at -> UtcTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::sql_types::UtcTimestamp;

    license_activations (id) {
        id -> Text,
        tenant_id -> Text,
        license_key_id -> Text,
        label -> Text,
        created_at -> UtcTimestamp,
        deactivated_at -> Nullable<UtcTimestamp>,
    }
}

diesel::joinable!(license_keys -> subscriptions (subscription_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    license_keys,
    license_activations,
    alerts,
    alert_triggers,
    api_keys,
    customers,
    idempotency_keys,
    portal_sessions,
    audit_events,
    wallets,
    credit_lots,
    wallet_transactions,
    invoices,
    invoice_counters,
    credit_notes,
    coupons,
    promotion_codes,
    payments,
    refunds,
    features,
    usage_events,
    usage_rollups,
    usage_counters,
    plans,
    subscriptions,
    tax_rates,
    test_clocks,
    billing_runs,
    payment_methods,
    guest_sessions,
    webhook_endpoints,
    webhook_events,
    webhook_deliveries,
    emails,
    webhook_attempts
);
