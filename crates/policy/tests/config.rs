//! Loading and validating the configuration file: every error names the key and the value.

use std::path::Path;

use redial_policy::{Config, ConfigError, Policy};

fn err(text: &str) -> String {
    Config::from_toml_str(text).unwrap_err().to_string()
}

#[test]
fn empty_file_is_the_default() {
    assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    Config::default().validate().unwrap();
}

#[test]
fn the_commented_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy.toml");
    let config = Config::from_file(&path).unwrap();
    Policy::new(config).unwrap();
}

#[test]
fn unknown_keys_are_rejected_with_the_valid_keys_listed() {
    let e = err("[retry]\nmax_attempt = 3");
    assert!(e.contains("retry.max_attempt"), "{e}");
    assert!(e.contains("max_attempts"), "lists valid keys: {e}");
    let e = err("[retyr]\n");
    assert!(e.contains("retyr") && e.contains("backoff"), "{e}");
}

#[test]
fn wrong_types_and_bad_durations_name_the_key_path() {
    let e = err("[backoff.retry]\nbase = \"fast\"");
    assert!(e.contains("backoff.retry.base"), "{e}");
    let e = err("[retry]\nmax_attempts = \"three\"");
    assert!(e.contains("retry.max_attempts"), "{e}");
    let e = err("[backoff.throttle]\njitter = \"lots\"");
    assert!(
        e.contains("backoff.throttle.jitter") && e.contains("decorrelated"),
        "{e}"
    );
    let e = err("[pacing.in_flight]\nmin = 0");
    assert!(e.contains("pacing.in_flight.min"), "{e}");
    let e = err("[pacing.in_flight]\nmin = 64\nmax = 8");
    assert!(
        e.contains("pacing.in_flight.max") && e.contains("at least pacing.in_flight.min (64)"),
        "{e}"
    );
    let e = err("[pacing.in_flight]\ntolerance = 1.0");
    assert!(e.contains("pacing.in_flight.tolerance"), "{e}");
    let e = err("[pacing.in_flight]\nceiling = 5");
    assert!(
        e.contains("pacing.in_flight.ceiling") && e.contains("tolerance"),
        "{e}"
    );
    // Regression (review): a tiny adaptive floor overflowed governor's period.
    let e = err("[pacing.adaptive]\nmin_rate = 1e-25");
    assert!(e.contains("pacing.adaptive.min_rate"), "{e}");
    let e = err("[[pacing.buckets]]\nname = \"a\"\nrate = -1.0");
    assert!(
        e.contains("pacing.buckets[0].rate") && e.contains("-1"),
        "{e}"
    );
}

#[test]
fn out_of_range_values_are_all_reported() {
    let e = Config::from_toml_str(
        "[retry]\nmax_attempts = 0\ndeadline = \"0s\"\n[budget]\nwindow = \"5m\"",
    )
    .unwrap_err();
    let ConfigError::Invalid { problems } = e else {
        panic!("expected Invalid")
    };
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["retry.max_attempts", "retry.deadline", "budget.window"]
    );
}

#[test]
fn recipient_unsubscribed_can_never_be_made_retryable() {
    for action in ["retry", "throttle", "wait_slot"] {
        let e = err(&format!(
            "[codes.recipient_unsubscribed]\naction = \"{action}\""
        ));
        assert!(
            e.contains("codes.recipient_unsubscribed.action") && e.contains("STOP"),
            "{e}"
        );
    }
    let e = err("[twilio]\nretry = [21610]\nopted_out = []");
    assert!(e.contains("21610"), "{e}");
    Config::from_toml_str("[codes.recipient_unsubscribed]\naction = \"fatal\"").unwrap();
    // Regression (review): an empty opted_out list let 21610 fall to `twilio.default`.
    let e = err("[twilio]\nopted_out = []\ndefault = \"retry\"");
    assert!(e.contains("twilio.opted_out") && e.contains("21610"), "{e}");
}

#[test]
fn bad_routes_and_names_are_rejected() {
    assert!(err("[routes.\"FETCH /v1/calls\"]\nmax_attempts = 2").contains("FETCH"));
    assert!(err("[codes.\"Bad Code\"]\naction = \"fatal\"").contains("snake_case"));
    assert!(
        err("[codes.x]\naction = \"fatal\"\nscope = \"agent\"").contains("scope only goes with")
    );
}

#[test]
fn malformed_toml_is_a_parse_error() {
    assert!(matches!(
        Config::from_toml_str("[retry"),
        Err(ConfigError::Parse { .. })
    ));
}

/// Issue 13, item 1: no bucket limits a route below the account's rate by default.
#[test]
fn the_default_has_no_route_bucket_only_the_account() {
    let buckets = Config::default().pacing.buckets;
    assert_eq!(buckets.len(), 1, "{buckets:?}");
    assert_eq!(buckets[0].name, redial_policy::config::ACCOUNT_BUCKET);
    assert_eq!(buckets[0].routes, ["*"]);
}

#[test]
fn pause_slot_wait_reconcile_and_support_keys_are_read_and_validated() {
    let c = Config::default();
    assert_eq!(
        c.max_pause(),
        c.retry.max_retry_after,
        "max_pause defaults to it"
    );
    assert_eq!(
        c.slots.max_wait, None,
        "creates wait for a slot as long as it takes"
    );
    assert!(c.retry.reconcile);
    let c = Config::from_toml_str(
        "[pacing]\nmax_pause = \"2h\"\n[slots]\nmax_wait = \"30m\"\n[retry]\nreconcile_settle = \"3s\"\n[support]\nprovider_repeats = 3",
    )
    .unwrap();
    assert_eq!(c.max_pause(), std::time::Duration::from_secs(7200));
    assert_eq!(c.slots.max_wait, Some(std::time::Duration::from_secs(1800)));
    assert_eq!(c.support.provider_repeats, 3);
    let e = err(
        "[pacing]\nmax_pause = \"0s\"\n[slots]\nmax_wait = \"0s\"\n[support]\nprovider_repeats = 0",
    );
    for key in [
        "pacing.max_pause",
        "slots.max_wait",
        "support.provider_repeats",
    ] {
        assert!(e.contains(key), "{key}: {e}");
    }
    let e = err("[twilio]\nthrottle = [21610]\nretry = []");
    assert!(e.contains("twilio.throttle") && e.contains("21610"), "{e}");
}
