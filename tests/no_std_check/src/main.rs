//! Proof that `password-mgmt` with `default-features = false` needs only `core` and
//! `alloc`: a `#![no_std]`, `#![no_main]` binary with its own panic handler and global
//! allocator that calls the token, verify, config, policy and encryption entry points.
//!
//! If anything in the dependency tree links `std`, the build fails with E0152 (duplicate
//! lang item `panic_impl`). The binary also runs on the host (it links the C library for its
//! entry point, `malloc` and `memcpy`, nothing of Rust's `std`) and exits 0 when every call
//! gave the expected answer, or with the number of the check that failed.
//!
//! ```sh
//! bash tests/no_std_check/check.sh   # build and run; then show that enabling std fails
//! ```

#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::convert::Infallible;
use core::panic::PanicInfo;

use password_mgmt::rand_core::{TryCryptoRng, TryRng};
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{
    Candidate, DigitTokenRequest, NewPassword, Outcome, PasswordEncryptor, PasswordKeyPair,
    PasswordOrgConfig, PasswordOrgConfigInput, PasswordPolicy, Purpose, Scheme, Subject,
    TokenKey, UserLimits, UserState,
};

// The C library: the process entry point calls `main` below; `malloc` backs the allocator.
#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn abort() -> !;
}

/// `malloc` for the usual alignments, `aligned_alloc` beyond.
struct CAlloc;

unsafe impl GlobalAlloc for CAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= 16 {
            // SAFETY: any size is valid for malloc; it returns 16-byte-aligned memory or null.
            unsafe { malloc(layout.size()) }
        } else {
            let size = layout.size().next_multiple_of(layout.align());
            // SAFETY: the alignment is a power of two and the size a multiple of it.
            unsafe { aligned_alloc(layout.align(), size) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above.
        unsafe { free(ptr) }
    }
}

#[global_allocator]
static ALLOCATOR: CAlloc = CAlloc;

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // SAFETY: abort takes no arguments and never returns.
    unsafe { abort() }
}

// The host's precompiled `alloc` was built with `panic = "unwind"`: a few of its functions
// (e.g. `str::to_lowercase`, used by the policy check) keep landing pads that name these two
// symbols. Nothing here unwinds (the panic handler aborts), so they are never called; on a
// bare-metal target, whose `core` and `alloc` are built to abort, they are not needed at all.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    // SAFETY: abort takes no arguments and never returns.
    unsafe { abort() }
}

/// A deterministic, *not* cryptographic generator (SplitMix64), declared cryptographic only
/// so that it can be handed to the crate in this link check.
struct SplitMix(u64);

impl TryRng for SplitMix {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|x| (x >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let word = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        Ok(())
    }
}

impl TryCryptoRng for SplitMix {}

#[unsafe(no_mangle)]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    match run() {
        Ok(()) => 0,
        Err(check) => check,
    }
}

/// Every entry point once; `Err(n)` names the check that failed.
fn run() -> Result<(), i32> {
    let mut rng = SplitMix(2026);

    // Config and request.
    let org = PasswordOrgConfig::new(&PasswordOrgConfigInput {
        digit_token_enabled: Some(true),
        digit_token_length: Some(8),
        ..PasswordOrgConfigInput::default()
    })
    .map_err(|_| 1)?;
    let request = DigitTokenRequest {
        user_id: "Abby.Smith",
        length: None,
        duration_minutes: Some(10),
    };
    let params = request.resolve(&org).map_err(|_| 2)?;

    // Issue, store, verify: the user's state as a stored byte string.
    let key = TokenKey::from_bytes(&[0x5a; 32]);
    let limits = UserLimits::DEFAULT;
    let subject = Subject {
        tenant: "acme",
        user: request.user_id,
        purpose: Purpose::PASSWORD_RESET,
    };
    let now = UtcDateTime::from_unix_timestamp(1_795_000_000).map_err(|_| 3)?;
    let issuance = UserState::new()
        .issue(&mut rng, &key, &subject, &params, &limits, now)
        .map_err(|_| 4)?;
    let mut stored = *issuance.update().ok_or(5)?.replacement();
    let issued = issuance.stored().map_err(|_| 5)?;
    let later = now + Duration::minutes(1);
    let wrong = if issued.token.as_str() == "00000000" { "11111111" } else { "00000000" };
    let mut outcomes = [Outcome::NoToken; 2];
    for (slot, typed) in outcomes.iter_mut().zip([wrong, issued.token.as_str()]) {
        let state = UserState::decode(&stored).map_err(|_| 6)?;
        let candidate = Candidate::new(typed).map_err(|_| 6)?;
        let verification = state
            .verify(&key, &subject, &candidate, &limits, later)
            .map_err(|_| 6)?;
        if let Some(update) = verification.update() {
            stored = *update.replacement();
        }
        *slot = verification.stored();
    }
    if outcomes[0] != (Outcome::Mismatch { attempts_left: 4 }) {
        return Err(7);
    }
    if outcomes[1] != Outcome::Accepted {
        return Err(9);
    }

    // Policy.
    let policy = PasswordPolicy::from_lines(["passwordMinLength is 8"]).map_err(|_| 10)?;
    if policy.check("short").is_ok() || !policy.check("long enough").is_ok() {
        return Err(11);
    }

    // Encryption, both ends.
    for scheme in [Scheme::Pkcs1v15, Scheme::OaepSha256, Scheme::OaepSha256Bound] {
        let pair =
            PasswordKeyPair::from_pkcs8_pem(include_str!("../../data/keys/rsa2048.pk8.pem"), scheme)
                .map_err(|_| 12)?;
        let client =
            PasswordEncryptor::from_spki_base64(&pair.public_key_base64(), scheme).map_err(|_| 13)?;
        let new = NewPassword { identity_id: "abby", password: "correct horse" };
        let encrypted = client.encrypt(&mut rng, &new).map_err(|_| 14)?;
        let password = pair.decrypt(&mut rng, &encrypted, "abby").map_err(|_| 15)?;
        if password.as_str() != "correct horse" {
            return Err(16);
        }
    }
    Ok(())
}
