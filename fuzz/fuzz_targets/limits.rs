//! `RateLimiter::decode` and `GuessBudget::decode` on any bytes, then checks of the decoded
//! state at an arbitrary instant under an arbitrary limit.
//!
//! Input: the whole input is decoded as both (any length). The bytes after the first 27
//! drive the checks: `max (2, u16 BE) | window seconds (4, u32 BE) | seconds (8, i64 BE) |
//! nanoseconds (4, u32 BE)`, missing bytes read as zero.
//!
//! Properties: decoding is total and strict (an accepted byte string re-encodes to itself);
//! `check` never panics, a refusal changes nothing and reports a positive wait, and an
//! allowed check records an instant that is not "from the future"; `peek` agrees with `check`;
//! a budget's `peek` is refused whenever either of its limits would refuse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use password_mgmt::time::{Duration, UtcDateTime};
use password_mgmt::{GuessBudget, GuessLimits, RateDecision, RateLimit, RateLimiter};

fuzz_target!(|data: &[u8]| {
    let limiter = RateLimiter::decode(data);
    if let Ok(l) = &limiter {
        assert_eq!(
            l.encode().as_slice(),
            data,
            "limiter decode then encode changed the bytes"
        );
    }
    let budget = GuessBudget::decode(data);
    if let Ok(b) = &budget {
        assert_eq!(
            b.encode().as_slice(),
            data,
            "budget decode then encode changed the bytes"
        );
    }

    let mut fixed = [0u8; 18];
    for (d, s) in fixed
        .iter_mut()
        .zip(data.get(GuessBudget::ENCODED_LEN..).unwrap_or_default())
    {
        *d = *s;
    }
    let max = u32::from(u16::from_be_bytes([fixed[0], fixed[1]]));
    let window = i64::from(u32::from_be_bytes(fixed[2..6].try_into().unwrap()));
    let Ok(limit) = RateLimit::new(max, Duration::seconds(window)) else {
        return;
    };
    let secs = i64::from_be_bytes(fixed[6..14].try_into().unwrap());
    let nanos = u32::from_be_bytes(fixed[14..18].try_into().unwrap()) % 1_000_000_000;
    let Some(now) = UtcDateTime::from_unix_timestamp(secs % 250_000_000_000)
        .ok()
        .and_then(|t| t.replace_nanosecond(nanos).ok())
    else {
        return;
    };

    // Any 14-byte prefix that decodes is a limiter to check.
    let prefix = data.get(..RateLimiter::ENCODED_LEN).unwrap_or_default();
    for state in [RateLimiter::decode(prefix).ok(), Some(RateLimiter::new())]
        .into_iter()
        .flatten()
    {
        let check = state.check(&limit, now);
        assert_eq!(check.decision, state.peek(&limit, now));
        match check.decision {
            RateDecision::Allowed => {
                // State written at `now` is never "from the future" at `now`.
                assert!(!check.limiter.from_the_future(&limit, now));
                assert_eq!(
                    check.limiter.encode()[1],
                    1,
                    "an allowed check records an instant"
                );
            }
            RateDecision::Limited { retry_after } => {
                assert!(retry_after > Duration::ZERO);
                assert_eq!(check.limiter, state, "a refusal changed the state");
            }
            _ => {}
        }
    }

    if let Ok(b) = budget {
        let limits = GuessLimits::new(limit, limit);
        if let RateDecision::Limited { retry_after } = b.peek(&limits, now) {
            assert!(retry_after > Duration::ZERO);
        }
        let _ = b.from_the_future(&limits, now);
    }
});
