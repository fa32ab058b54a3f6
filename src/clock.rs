//! The countdown to a payment's expiry, by the server's clock, and the few numbers the widget
//! writes. Native, like the rest of the core: times are plain ms since the epoch, read from the
//! browser by the component and given here.
//!
//! Why the server's clock: a phone's clock may be minutes off, and `expires_at` is the
//! server's. The session answer's `Date` header says what time the server had; the difference
//! is kept once ([`ServerClock`]) and added to the browser's clock at every tick, so the
//! countdown is right after a sleep too (it is never a count of ticks).

/// The server's clock as seen from the browser: the browser's clock plus a skew.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerClock {
    /// The server's clock minus ours, in ms.
    skew: f64,
}

impl ServerClock {
    /// From the server's time when it answered (its `Date` header, if the browser let us read
    /// it) and ours at that moment; without it, ours.
    pub fn new(server_now: Option<f64>, local_now: f64) -> ServerClock {
        ServerClock {
            skew: server_now
                .filter(|ms| ms.is_finite())
                .map_or(0.0, |server| server - local_now),
        }
    }

    /// The server's time now, when ours is `local_now`.
    pub fn now(self, local_now: f64) -> f64 {
        local_now + self.skew
    }
}

/// `m:ss` of what is left before `expires_at` at `now` (both by the server's clock, in ms):
/// rounded up to the second, never negative.
pub fn countdown(expires_at: f64, now: f64) -> String {
    let ms = expires_at - now;
    let seconds = if ms.is_finite() && ms > 0.0 {
        (ms / 1000.0).ceil() as usize
    } else {
        0
    };
    let mut out = String::new();
    push_number(&mut out, seconds / 60);
    out.push(':');
    if seconds % 60 < 10 {
        out.push('0');
    }
    push_number(&mut out, seconds % 60);
    out
}

/// Appends `n` in decimal. By hand rather than `format!`: the wasm then needs none of
/// `core::fmt`'s integer formatting for it.
pub fn push_number(out: &mut String, n: usize) {
    if n >= 10 {
        push_number(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_rounds_up_to_the_second_and_stops_at_zero() {
        let left = |ms: f64| countdown(1_000_000.0 + ms, 1_000_000.0);
        assert_eq!(left(61_000.0), "1:01");
        assert_eq!(left(59_001.0), "1:00");
        assert_eq!(left(300_000.0), "5:00");
        assert_eq!(left(0.0), "0:00");
        assert_eq!(left(-5_000.0), "0:00");
        assert_eq!(countdown(f64::NAN, 0.0), "0:00");
    }

    #[test]
    fn the_countdown_follows_the_servers_clock_not_the_phones() {
        // The phone is two minutes behind the server: five minutes by the server's
        // `expires_at` leave three.
        let phone = 1_700_000_000_000.0;
        let clock = ServerClock::new(Some(phone + 120_000.0), phone);
        let expires_at = phone + 120_000.0 + 300_000.0;
        assert_eq!(countdown(expires_at, clock.now(phone)), "5:00");
        assert_eq!(countdown(expires_at, clock.now(phone + 1_000.0)), "4:59");
        // After a ten-minute sleep, computed again rather than counted: expired.
        assert_eq!(countdown(expires_at, clock.now(phone + 600_000.0)), "0:00");
    }

    #[test]
    fn without_a_readable_date_the_phones_clock_is_used() {
        for server_now in [None, Some(f64::NAN)] {
            let clock = ServerClock::new(server_now, 5_000.0);
            assert_eq!(clock.now(7_000.0), 7_000.0);
        }
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 99, 177, 1_000_001] {
            let mut out = String::from("x");
            push_number(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
