//! `RateLimiter::decode` on any bytes, checks of the decoded state at arbitrary instants
//! under an arbitrary limit, and the configuration forms of `RateLimit` and `UserLimits`
//! parsed from the input as text.
//!
//! Input: the first 14 bytes are a stored limiter (any length is decoded). The next bytes:
//! `max (2, u16 BE) | window seconds (4, u32 BE) | tolerance ms (4, u32 BE) |
//! seconds (8, i64 BE) | nanoseconds (4, u32 BE) | steps (8 x 2, i16 BE seconds)`, missing
//! bytes read as zero; everything after them is parsed as text (lossy UTF-8).
//!
//! Properties: decoding is total and strict (an accepted byte string re-encodes to itself);
//! `check` never panics and `peek` agrees with it; a refusal reports a positive wait and
//! writes nothing unless the state was clamped (a lead beyond the tolerance), and then the
//! stored clamp leaves a lead of at most the tolerance; an allowed check writes a state
//! with no lead at `now`; every update's `expected` is the state read; along the steps
//! (forwards and backwards), every refusal's `retry_after` is exact for the state as
//! stored: allowed after it, refused a nanosecond before. Text: parsing never panics;
//! whatever parses prints a form that parses back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{RateLimit, RateLimiter, UserLimits};
use password_mgmt_fuzz::Reader;

fuzz_target!(|data: &[u8]| {
    let head = data.get(..RateLimiter::ENCODED_LEN.min(data.len())).unwrap_or_default();
    let decoded = RateLimiter::decode(head);
    if let Ok(l) = &decoded {
        assert_eq!(l.encode().as_slice(), head, "decode then encode changed the bytes");
    }
    let mut r = Reader(data.get(RateLimiter::ENCODED_LEN..).unwrap_or_default());
    let max = u32::from(u16::from_be_bytes(r.bytes()));
    let window = i64::from(u32::from_be_bytes(r.bytes()));
    let tolerance = i64::from(u32::from_be_bytes(r.bytes()) % 400_000);
    let secs = r.i64();
    let nanos = u32::from_be_bytes(r.bytes()) % 1_000_000_000;
    let steps: [i64; 8] = core::array::from_fn(|_| i64::from(i16::from_be_bytes(r.bytes())));
    let text = String::from_utf8_lossy(r.rest());
    check_text(&text);

    let Ok(limit) = RateLimit::new(max, Duration::seconds(window)) else {
        return;
    };
    let Ok(limit) = limit.with_clock_tolerance(Duration::milliseconds(tolerance)) else {
        assert!(Duration::milliseconds(tolerance) > RateLimit::MAX_CLOCK_TOLERANCE);
        return;
    };
    let Some(mut now) = UtcDateTime::from_unix_timestamp(secs % 250_000_000_000)
        .ok()
        .and_then(|t| t.replace_nanosecond(nanos).ok())
    else {
        return;
    };
    let mut state = decoded.unwrap_or_default();
    for step in steps {
        let check = state.check(&limit, now);
        assert_eq!(check.limited(), state.peek(&limit, now).retry_after());
        let lead = check.clock_lead();
        assert_eq!(lead, state.clock_lead(&limit, now));
        let next = match check.update() {
            Some(update) => {
                assert_eq!(update.expected(), &state.encode());
                RateLimiter::decode(update.replacement()).expect("a replacement decodes")
            }
            None => state,
        };
        match check.limited() {
            Some(retry_after) => {
                assert!(retry_after.duration() > Duration::ZERO);
                if lead <= limit.clock_tolerance() {
                    assert!(check.update().is_none(), "a refusal wrote");
                } else {
                    assert!(check.update().is_some(), "a clamp was not written");
                    assert!(next.clock_lead(&limit, now) <= limit.clock_tolerance());
                }
                // The wait is exact: allowed then (unless time ends first), not a
                // nanosecond before.
                if let Some(due) = now.checked_add(retry_after.duration() + limit.interval()) {
                    let due = due - limit.interval();
                    assert!(next.peek(&limit, due).is_allowed(), "still refused after the wait");
                    let before = due - Duration::NANOSECOND;
                    assert!(!next.peek(&limit, before).is_allowed(), "allowed before the wait");
                }
            }
            None => {
                assert!(check.update().is_some(), "an allowed event wrote nothing");
                assert_eq!(next.clock_lead(&limit, now), Duration::ZERO);
            }
        }
        state = next;
        match now.checked_add(Duration::seconds(step)) {
            Some(t) => now = t,
            None => break,
        }
    }
});

fn check_text(text: &str) {
    if let Ok(limit) = text.parse::<RateLimit>() {
        let printed = limit.to_string();
        assert_eq!(printed.parse::<RateLimit>().ok(), Some(limit), "{printed}");
    }
    if let Ok(limits) = text.parse::<UserLimits>() {
        let printed = limits.to_string();
        assert_eq!(printed.parse::<UserLimits>().ok(), Some(limits), "{printed}");
    }
}
