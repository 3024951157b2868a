//! Rate limits (docs/operations.md, "Rate limits"): one token bucket (GCRA, `governor`) per API key, and one
//! per client IP for requests without a key (the finance page, `/healthz`, a wrong key). Over
//! the limit is 429 `rate_limited` with `Retry-After` in seconds. The buckets live in
//! [`AppState`](crate::http::AppState), configured by `serve --rate-limit-per-second` /
//! `--rate-limit-burst`.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;
use crate::http::AppState;

/// Requests per second and burst per caller; `per_second` 0 turns limiting off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimitConfig {
    /// Generous: no person or well-behaved script gets near it.
    fn default() -> Self {
        RateLimitConfig { per_second: 200, burst: 400 }
    }
}

/// Who a bucket belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Key(i64),
    Ip(IpAddr),
}

pub struct RateLimits {
    limiter: Option<DefaultKeyedRateLimiter<Subject>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(config: RateLimitConfig) -> RateLimits {
        let limiter = NonZeroU32::new(config.per_second).map(|rate| {
            let burst = NonZeroU32::new(config.burst.max(config.per_second)).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        RateLimits { limiter, clock: DefaultClock::default(), checks: AtomicU64::new(0) }
    }

    /// One request of `subject`: `Ok`, or 429 with the seconds to wait.
    pub fn check(&self, subject: Subject) -> Result<(), AppError> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        // Forget idle buckets now and then, so one-off IPs do not pile up.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter.check_key(&subject).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            AppError::RateLimited { retry_after: secs.max(1) }
        })
    }
}

/// Limits requests that carry no API key by client IP (the TCP peer: a proxy in front should
/// rate limit by the real client itself). `/api/v1` requests with an `Authorization` header are
/// limited per key by `authenticate` instead.
pub async fn limit_anonymous(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path();
    let keyed = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        && path.starts_with("/api/v1/")
        && path != "/api/v1/openapi.json";
    if !keyed {
        if let Some(state) = req.app_data::<Data<AppState>>() {
            if let Err(e) = state.limits.check(Subject::Ip(client_ip(&req))) {
                return Ok(req.error_response(e).map_into_boxed_body());
            }
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_boxed_body)
}

pub fn client_ip(req: &ServiceRequest) -> IpAddr {
    req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}
