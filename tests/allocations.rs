//! Heap allocations counted by a global allocator: generating a token, issuing it and
//! verifying candidates (every outcome, with the guess budget and the consecutive cap)
//! make none; neither do encoding and decoding a user's state, updating, encoding and
//! decoding the org config, resolving a request, and checking a rate limiter. For comparison it also prints
//! the counts of the hand-written `rand` + `format!` baseline and of the RSA operations.
//!
//! Counting needs `unsafe impl GlobalAlloc`: the one place in the repository with unsafe
//! code, allowed here with its reason (the package denies unsafe code; the library
//! forbids it). `cargo test --test allocations -- --nocapture` prints every count.
//!
//! Only allocations made on the measuring thread while it measures are counted (a
//! thread-local flag and counter), so the test harness's own threads cannot disturb a count.

#![allow(
    unsafe_code,
    reason = "a counting global allocator must implement the unsafe trait GlobalAlloc; it only forwards to System"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    reason = "tests: a panic is a failure report, and the values are fixed"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    AttemptLimit, Candidate, DigitToken, DigitTokenRequest, NewPassword, Outcome, PasswordKeyPair,
    PasswordOrgConfig, PasswordOrgConfigInput, Purpose, RateLimit, RateLimiter, Scheme, Subject,
    TokenKey, TokenLength, TokenParams, TokenTtl, UserLimits, UserState,
};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// Forwards to [`System`], counting allocations made while the current thread measures.
struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation if this thread is measuring. Const-initialised thread-locals
/// without `Drop` neither allocate nor register destructors, so this cannot recurse;
/// `try_with` covers a thread whose locals are already gone.
fn note_allocation() {
    let measuring = MEASURING.try_with(Cell::get).unwrap_or(false);
    if measuring {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only thread-locals and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's guarantees for `layout` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this wrapper) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` on this thread and returns its result and the allocations it made.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    COUNT.with(|c| c.set(0));
    MEASURING.with(|m| m.set(true));
    let out = black_box(f());
    MEASURING.with(|m| m.set(false));
    (out, COUNT.with(Cell::get))
}

const SUBJECT: Subject<'static> = Subject {
    tenant: "acme",
    user: "Abby.Smith",
    purpose: Purpose::PASSWORD_RESET,
};

fn now() -> UtcDateTime {
    UtcDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

fn params(limit: u8) -> TokenParams {
    TokenParams::new(
        TokenLength::new(6).unwrap(),
        TokenTtl::from_minutes(5).unwrap(),
    )
    .with_attempt_limit(AttemptLimit::new(limit).unwrap())
}

#[test]
fn the_counter_sees_allocations() {
    let (s, n) = allocations(|| format!("{:06}", black_box(42u64)));
    assert_eq!(s, "000042");
    assert_eq!(n, 1, "format! allocates its String once");

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (_, n) = allocations(|| {
        let v: u64 = rng.random_range(0..1_000_000);
        format!("{v:06}")
    });
    println!("baseline rand random_range + format!: {n} allocation(s)");
    assert_eq!(n, 1);
}

#[test]
fn generate_allocates_nothing() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for digits in 6..=18 {
        let len = TokenLength::new(digits).unwrap();
        for _ in 0..100 {
            let (token, n) = allocations(|| DigitToken::generate(&mut rng, len).unwrap());
            assert_eq!(token.as_str().len(), usize::from(digits));
            assert_eq!(n, 0, "DigitToken::generate, {digits} digits");
        }
    }
    println!("DigitToken::generate (6 to 18 digits): 0 allocations");
}

#[test]
fn issue_allocates_nothing() {
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let limits = UserLimits::default();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let state = UserState::new();
    for _ in 0..100 {
        let (issuance, n) = allocations(|| {
            state
                .issue(&mut rng, &key, &SUBJECT, &params(5), &limits, now())
                .unwrap()
        });
        assert!(issuance.update().is_some());
        assert_eq!(issuance.stored().unwrap().token.as_str().len(), 6);
        assert_eq!(n, 0, "issue");
    }
    println!("issue: 0 allocations");
}

/// The state after storing `typed`'s verification.
fn after(state: &UserState, key: &TokenKey, typed: &str, at: UtcDateTime) -> UserState {
    let v = state
        .verify(
            key,
            &SUBJECT,
            &Candidate::new(typed).unwrap(),
            &UserLimits::DEFAULT,
            at,
        )
        .unwrap();
    v.update().map_or_else(
        || state.clone(),
        |u| UserState::decode(u.replacement()).unwrap(),
    )
}

#[test]
fn verify_allocates_nothing_whatever_the_outcome() {
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let limits =
        UserLimits::default().with_requests(RateLimit::new(10_000, Duration::SECOND).unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let issue = |rng: &mut ChaCha20Rng, state: &UserState, limit| {
        let issuance = state
            .issue(rng, &key, &SUBJECT, &params(limit), &limits, now())
            .unwrap();
        let next = UserState::decode(issuance.update().unwrap().replacement()).unwrap();
        (issuance.stored().unwrap(), next)
    };
    let (issued, state) = issue(&mut rng, &UserState::new(), 1);
    let token = issued.token.as_str();
    let wrong = if token == "000000" {
        "000001"
    } else {
        "000000"
    };
    let during = now() + Duration::minutes(1);
    let used = after(&state, &key, token, during);
    let locked = after(&state, &key, wrong, during);
    // A spent budget: six failures on fresh tokens (a burst of 6 per hour).
    let mut spent = UserState::new();
    for _ in 0..6 {
        let (_, fresh) = issue(&mut rng, &spent, 5);
        spent = after(&fresh, &key, "x", during);
    }
    let (spent_issued, spent) = issue(&mut rng, &spent, 5);
    let capped = limits.with_consecutive_failures(1).unwrap();

    let cases: [(&UserState, &str, UtcDateTime, &UserLimits, Outcome); 10] = [
        (&state, token, during, &limits, Outcome::Accepted),
        (
            &state,
            wrong,
            during,
            &limits,
            Outcome::Mismatch { attempts_left: 0 },
        ),
        (
            &state,
            "12345",
            during,
            &limits,
            Outcome::Malformed { attempts_left: 0 },
        ),
        (
            &state,
            token,
            now() + Duration::minutes(5),
            &limits,
            Outcome::Expired,
        ),
        (
            &state,
            token,
            now() - Duration::minutes(1),
            &limits,
            Outcome::NotYetValid,
        ),
        (&locked, token, during, &limits, Outcome::TokenLocked),
        (&used, token, during, &limits, Outcome::AlreadyUsed),
        (&UserState::new(), token, during, &limits, Outcome::NoToken),
        (
            &spent,
            spent_issued.token.as_str(),
            during,
            &limits,
            spent
                .guess_budget(&limits, during)
                .retry_after()
                .map_or(Outcome::Accepted, |retry_after| Outcome::BudgetExhausted {
                    retry_after,
                }),
        ),
        (
            &spent,
            spent_issued.token.as_str(),
            during,
            &capped,
            Outcome::UserLockedOut,
        ),
    ];
    for (state, typed, at, limits, outcome) in cases {
        let candidate = Candidate::new(typed).unwrap();
        let (check, n) = allocations(|| {
            state
                .verify(&key, &SUBJECT, &candidate, limits, at)
                .unwrap()
        });
        assert_eq!(check.stored(), outcome);
        assert_eq!(n, 0, "verify, {outcome:?}");
        println!("verify ({outcome:?}): 0 allocations");
    }
    assert!(matches!(cases[8].4, Outcome::BudgetExhausted { .. }));
}

#[test]
fn states_config_limiters_and_requests_allocate_nothing() {
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let issuance = UserState::new()
        .issue(
            &mut rng,
            &key,
            &SUBJECT,
            &params(5),
            &UserLimits::default(),
            now(),
        )
        .unwrap();
    let bytes = *issuance.update().unwrap().replacement();

    let (state, n) = allocations(|| UserState::decode(&bytes).unwrap());
    assert_eq!(n, 0, "decode");
    let (encoded, n) = allocations(|| state.encode());
    assert_eq!(encoded, bytes);
    assert_eq!(n, 0, "encode");

    let input = PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_length: Some(8),
        ..Default::default()
    };
    let (org, n) = allocations(|| PasswordOrgConfig::DEFAULT.update(&input).unwrap());
    assert_eq!(n, 0, "org config update");
    let (org_bytes, n) = allocations(|| org.encode());
    assert_eq!(n, 0, "org config encode");
    let (decoded, n) = allocations(|| PasswordOrgConfig::decode(&org_bytes).unwrap());
    assert_eq!((decoded, n), (org, 0), "org config decode");
    let request = DigitTokenRequest {
        user_id: "Abby.Smith",
        length: None,
        duration_minutes: Some(10),
    };
    let (resolved, n) = allocations(|| request.resolve(&org).unwrap());
    assert_eq!(resolved.length().get(), 8);
    assert_eq!(n, 0, "request resolve");
    let limit = RateLimit::new(600, Duration::hours(1)).unwrap();
    let (check, n) = allocations(|| RateLimiter::new().check(&limit, now()));
    assert!(check.stored().is_allowed());
    assert_eq!(n, 0, "rate limiter check");
    println!(
        "state encode and decode, org config update, encode and decode, request resolve, \
         rate limiter check: 0 allocations"
    );

    // Error paths collect their violations in a Vec: allocations are expected there.
    let bad = PasswordOrgConfigInput {
        digit_token_duration_minutes: Some(0),
        digit_token_length: Some(20),
        ..Default::default()
    };
    let (_, n) = allocations(|| org.update(&bad).unwrap_err());
    println!("org config update with two violations: {n} allocation(s)");
    assert!(n > 0);
}

#[test]
fn rsa_operations_allocate_and_this_reports_how_much() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for scheme in [
        Scheme::Pkcs1v15,
        Scheme::OaepSha256,
        Scheme::OaepSha256Bound,
    ] {
        let pem = include_str!("data/keys/rsa2048.pk8.pem");
        let pair = PasswordKeyPair::from_pkcs8_pem(pem, scheme).unwrap();
        let new = NewPassword {
            identity_id: "abby",
            password: "correct horse",
        };
        let (encrypted, n_enc) = allocations(|| pair.encryptor().encrypt(&mut rng, &new).unwrap());
        let (password, n_dec) = allocations(|| pair.decrypt(&mut rng, &encrypted, "abby").unwrap());
        assert_eq!(password.as_str(), "correct horse");
        println!("RSA-2048 {scheme:?}: encrypt {n_enc} allocations, decrypt {n_dec} allocations");
        assert!(
            n_enc > 0 && n_dec > 0,
            "the counter sees the RSA code allocate"
        );
    }
}
