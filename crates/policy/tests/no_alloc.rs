//! `decide` for a known code, and a backoff delay, allocate nothing (the hot path of every
//! failed attempt). A counting global allocator proves it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redial_policy::{
    ApiError, Attempt, ErrorCode, Failure, Method, Policy, RequestInfo, Unlimited,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decide_and_backoff_do_not_allocate() {
    let policy = Policy::default();
    let request = RequestInfo::new(Method::Get, "/v1/calls/call_1");
    let attempt = Attempt {
        waits: 0,
        number: 1,
        elapsed: Duration::ZERO,
        previous_delay: Duration::ZERO,
        jitter: 0.3,
    };
    let failures = [
        Failure::Api(ApiError::from_status(400).with_code(ErrorCode::InvalidPhoneFormat)),
        Failure::Api(ApiError::from_status(429).with_code(ErrorCode::RateLimitExceeded)),
        Failure::Api(ApiError::from_status(500).with_code(ErrorCode::from_name("server_error_x"))),
        Failure::Api(ApiError::from_status(429).with_code(ErrorCode::ConcurrentCallLimit)),
    ];
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for f in &failures {
        std::hint::black_box(policy.decide(f, &request, &attempt, &Unlimited));
    }
    let backoff = redial_policy::Backoff::new(
        redial_policy::Jitter::Full,
        Duration::from_millis(100),
        2.0,
        Duration::from_secs(20),
    );
    std::hint::black_box(backoff.delay(3, Duration::ZERO, 0.7));
    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst) - before, 0);
}
