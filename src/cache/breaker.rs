//! The circuit breaker in front of the cache's Redis: after a run of failures (errors, or
//! answers slower than `REDIS_TIMEOUT_MS`) it opens and every cache command skips Redis; once
//! per probe interval it lets one command through, and the first success closes it again.

use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// Breaker state shared by every request of one instance.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    probe: Duration,
    start: Instant,
    failures: AtomicU32,
    open: AtomicBool,
    /// Milliseconds since `start` before which an open breaker lets nothing through.
    next_probe_ms: AtomicU64,
    /// Milliseconds since `start` of the last "Redis is down" log line (0: never).
    last_log_ms: AtomicU64,
}

/// What a recorded outcome changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

impl Breaker {
    pub fn new(threshold: u32, probe: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            probe,
            start: Instant::now(),
            failures: AtomicU32::new(0),
            open: AtomicBool::new(false),
            next_probe_ms: AtomicU64::new(0),
            last_log_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn probe_ms(&self) -> u64 {
        u64::try_from(self.probe.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether Redis is believed reachable (the breaker is closed).
    pub fn is_closed(&self) -> bool {
        !self.open.load(Ordering::Acquire)
    }

    /// Whether a command may go to Redis now: always while closed; while open, one caller
    /// per probe interval (the probe).
    pub fn allow(&self) -> bool {
        if self.is_closed() {
            return true;
        }
        let now = self.now_ms();
        let next = self.next_probe_ms.load(Ordering::Acquire);
        now >= next
            && self
                .next_probe_ms
                .compare_exchange(
                    next,
                    now + self.probe_ms(),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Records a command's outcome.
    pub fn record(&self, ok: bool) -> Transition {
        if ok {
            self.failures.store(0, Ordering::Release);
            if self.open.swap(false, Ordering::AcqRel) {
                return Transition::Closed;
            }
            return Transition::None;
        }
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures >= self.threshold && !self.open.swap(true, Ordering::AcqRel) {
            self.next_probe_ms
                .store(self.now_ms() + self.probe_ms(), Ordering::Release);
            return Transition::Opened;
        }
        Transition::None
    }

    /// Whether a "still down" log line is due (at most one a minute).
    pub fn log_due(&self) -> bool {
        let now = self.now_ms().max(1);
        let last = self.last_log_ms.load(Ordering::Acquire);
        (last == 0 || now.saturating_sub(last) >= 60_000)
            && self
                .last_log_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_probes_and_closes_on_success() {
        let b = Breaker::new(2, Duration::from_millis(30));
        assert!(b.allow());
        assert_eq!(b.record(false), Transition::None);
        assert_eq!(b.record(false), Transition::Opened);
        assert!(!b.is_closed());
        assert!(!b.allow(), "no probe before the interval");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one probe");
        assert!(!b.allow(), "only one");
        assert_eq!(b.record(true), Transition::Closed);
        assert!(b.allow() && b.is_closed());
    }
}
