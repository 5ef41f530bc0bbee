//! Heap allocations counted by a global allocator: generating a token, issuing it and
//! verifying candidates (every outcome) make none; neither do encoding and decoding a
//! record, updating the org config and resolving a request. For comparison it also prints
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
    AttemptLimit, DigitToken, DigitTokenRequest, IssuedToken, Outcome, PasswordKeyPair,
    PasswordOrgConfig, PasswordOrgConfigInput, Scheme, TokenKey, TokenLength, TokenParams,
    TokenTtl, issue,
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

const USER: &str = "Abby.Smith";

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
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for _ in 0..100 {
        let (issued, n) = allocations(|| issue(&mut rng, &key, USER, &params(5), now()).unwrap());
        assert_eq!(issued.token.as_str().len(), 6);
        assert_eq!(n, 0, "issue");
    }
    println!("issue: 0 allocations");
}

#[test]
fn verify_allocates_nothing_whatever_the_outcome() {
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let issued = issue(&mut rng, &key, USER, &params(1), now()).unwrap();
    let token = issued.token.as_str();
    let wrong = if token == "000000" {
        "000001"
    } else {
        "000000"
    };
    let during = now() + Duration::minutes(1);
    let record = issued.record;
    let used = record.verify(&key, USER, token, during).unwrap().record;
    let locked = record.verify(&key, USER, wrong, during).unwrap().record;

    let cases: [(&IssuedToken, &str, UtcDateTime, Outcome); 7] = [
        (&record, token, during, Outcome::Accepted),
        (
            &record,
            wrong,
            during,
            Outcome::Mismatch { attempts_left: 0 },
        ),
        (
            &record,
            "12345",
            during,
            Outcome::Malformed { attempts_left: 0 },
        ),
        (
            &record,
            token,
            now() + Duration::minutes(5),
            Outcome::Expired,
        ),
        (
            &record,
            token,
            now() - Duration::seconds(1),
            Outcome::NotYetValid,
        ),
        (&locked, token, during, Outcome::Locked),
        (&used, token, during, Outcome::AlreadyUsed),
    ];
    for (record, candidate, at, outcome) in cases {
        let (check, n) = allocations(|| record.verify(&key, USER, candidate, at).unwrap());
        assert_eq!(check.outcome, outcome);
        assert_eq!(n, 0, "verify, {outcome:?}");
        println!("verify ({outcome:?}): 0 allocations");
    }
}

#[test]
fn records_config_and_requests_allocate_nothing() {
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let record = issue(&mut rng, &key, USER, &params(5), now())
        .unwrap()
        .record;

    let (bytes, n) = allocations(|| record.encode());
    assert_eq!(n, 0, "encode");
    let (decoded, n) = allocations(|| IssuedToken::decode(&bytes).unwrap());
    assert_eq!(decoded, record);
    assert_eq!(n, 0, "decode");

    let input = PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_length: Some(8),
        ..Default::default()
    };
    let (org, n) = allocations(|| PasswordOrgConfig::DEFAULT.update(&input).unwrap());
    assert_eq!(n, 0, "org config update");
    let request = DigitTokenRequest {
        user_id: USER,
        length: None,
        duration_minutes: Some(10),
    };
    let (resolved, n) = allocations(|| request.resolve(&org).unwrap());
    assert_eq!(resolved.length().get(), 8);
    assert_eq!(n, 0, "request resolve");
    println!("encode, decode, org config update, request resolve: 0 allocations");

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
    let pair = PasswordKeyPair::from_pkcs8_pem(include_str!("data/keys/rsa2048.pk8.pem")).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256] {
        let (encrypted, n_enc) = allocations(|| {
            pair.encryptor()
                .encrypt(&mut rng, "correct horse", scheme)
                .unwrap()
        });
        let (password, n_dec) = allocations(|| pair.decrypt(&mut rng, &encrypted, scheme).unwrap());
        assert_eq!(password.as_str(), "correct horse");
        println!("RSA-2048 {scheme:?}: encrypt {n_enc} allocations, decrypt {n_dec} allocations");
        assert!(
            n_enc > 0 && n_dec > 0,
            "the counter sees the RSA code allocate"
        );
    }
}
