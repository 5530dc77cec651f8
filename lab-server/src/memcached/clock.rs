//! memcached's notion of time: whole seconds since the server started ("rel time"), with
//! `exptime` values converted the way memcached converts them. Built on tokio's clock so
//! that tests pause and advance time instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Relative expiry times up to this many seconds; larger values are unix timestamps.
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;

/// Rel time given to items that are already expired (every `now()` is larger).
pub const EXPIRED: u32 = 1;

/// The server clock.
#[derive(Debug, Clone)]
pub struct Clock {
    start: Instant,
    /// Unix time of rel time 0.
    epoch: u64,
}

impl Clock {
    pub fn new() -> Clock {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        // Like memcached, start a little after 0 so that "already expired" (1) is in the past.
        Clock {
            start: Instant::now(),
            epoch: unix.saturating_sub(2),
        }
    }

    /// Seconds since the server started, plus 2.
    pub fn now(&self) -> u32 {
        let secs = Instant::now()
            .saturating_duration_since(self.start)
            .as_secs();
        (secs + 2).min(u64::from(u32::MAX)) as u32
    }

    /// Seconds since the server started.
    pub fn uptime(&self) -> u64 {
        u64::from(self.now() - 2)
    }

    /// The current unix time as the server sees it.
    pub fn unix_now(&self) -> u64 {
        self.epoch + u64::from(self.now())
    }

    /// The unix time of a rel time.
    pub fn to_unix(&self, rel: u32) -> u64 {
        self.epoch + u64::from(rel)
    }

    /// An `exptime` from a command -> rel time of expiry (0 = never): relative seconds up
    /// to 30 days, a unix timestamp beyond, already expired when negative or in the past.
    pub fn expiry(&self, exptime: i64) -> u32 {
        if exptime == 0 {
            return 0;
        }
        if exptime < 0 {
            return EXPIRED;
        }
        if exptime > REALTIME_MAXDELTA {
            let unix = exptime as u64;
            if unix <= self.epoch {
                return EXPIRED;
            }
            return (unix - self.epoch).min(u64::from(u32::MAX)) as u32;
        }
        (u64::from(self.now()) + exptime as u64).min(u64::from(u32::MAX)) as u32
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn relative_expiry_counts_from_now() {
        let clock = Clock::new();
        let at = clock.expiry(10);
        assert_eq!(at, clock.now() + 10);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(clock.now(), at);
    }

    #[tokio::test(start_paused = true)]
    async fn large_values_are_unix_times_and_negative_ones_are_past() {
        let clock = Clock::new();
        let in_a_minute = clock.unix_now() as i64 + 60;
        assert_eq!(clock.expiry(in_a_minute), clock.now() + 60);
        assert_eq!(
            clock.expiry(REALTIME_MAXDELTA + 1),
            EXPIRED,
            "1970 is in the past"
        );
        assert_eq!(clock.expiry(-1), EXPIRED);
        assert_eq!(clock.expiry(0), 0);
        assert_eq!(
            clock.expiry(REALTIME_MAXDELTA),
            clock.now() + REALTIME_MAXDELTA as u32
        );
    }
}
