//! Rate limits: per API key, per client IP without a key; 429 `rate_limited` with `Retry-After`.

use supportbill::domain::vocab::Role;
use supportbill::http::ratelimit::RateLimitConfig;
use supportbill::http::AppState;

use crate::harness::assert_problem;

fn low(s: AppState) -> AppState {
    s.with_rate_limit(RateLimitConfig { per_second: 1, burst: 3 })
}

both_backends!(a_key_over_its_limit_gets_429_with_retry_after, state = low, |app| {
    for _ in 0..3 {
        app.get("/api/v1/customers").await.expect(200);
    }
    let over = app.get("/api/v1/customers").await;
    assert_problem(&over, 429, "rate_limited");
    let retry: u64 = over.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=2).contains(&retry), "Retry-After {retry}");

    // Another key has its own budget.
    let finance = app.make_key(Role::Finance, None);
    app.get_as(&finance, "/api/v1/customers").await.expect(200);

    // After the wait, the key may go on.
    actix_rt::time::sleep(std::time::Duration::from_secs(retry)).await;
    app.get("/api/v1/customers").await.expect(200);
});

both_backends!(requests_without_a_key_are_limited_per_ip, state = low, |app| {
    for _ in 0..3 {
        app.send("GET", "/healthz", None, None, None).await.expect(200);
    }
    assert_problem(&app.send("GET", "/healthz", None, None, None).await, 429, "rate_limited");
    // A wrong key spends the same IP budget (no free guessing) ...
    assert_problem(&app.get_as("sb_wrong", "/api/v1/customers").await, 429, "rate_limited");
    // ... while a good key still has its own.
    app.get("/api/v1/customers").await.expect(200);
});

// An Authorization header that is no Bearer token spends the client IP's budget like a wrong
// key: it once skipped both the IP's limit (it has a header) and a key's (it names no key).
both_backends!(an_authorization_that_is_not_a_bearer_token_is_limited_per_ip, state = low, |app| {
    for _ in 0..3 {
        assert_problem(
            &app.get_with_authorization("/api/v1/customers", "Basic dXNlcjpwYXNz").await,
            401,
            "unauthorized",
        );
    }
    assert_problem(&app.get_with_authorization("/api/v1/customers", "Basic dXNlcjpwYXNz").await, 429, "rate_limited");
    assert_problem(&app.send("GET", "/healthz", None, None, None).await, 429, "rate_limited");
    app.get("/api/v1/customers").await.expect(200);
});
