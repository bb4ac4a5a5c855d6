//! Latency percentiles over a sliding window: operations record into the current tick's HDR
//! histogram ([`Recorder`], a short lock per record); each tick the collector takes it and
//! keeps the last ticks' histograms ([`Window`]) summed, so a percentile is one read.

use std::{collections::VecDeque, sync::Mutex, time::Duration};

use hdrhistogram::Histogram;

/// Largest duration recorded, in microseconds (a minute; longer ones are clamped to it).
const MAX_US: u64 = 60_000_000;

fn empty() -> Histogram<u64> {
    // 2 significant figures: 1 % resolution, a few KiB per histogram. The bounds are valid
    // constants, so this cannot fail.
    match Histogram::new_with_bounds(1, MAX_US, 2) {
        Ok(h) => h,
        Err(_) => unreachable!("constant, valid histogram bounds"),
    }
}

/// Durations of the tick in progress.
pub struct Recorder(Mutex<Histogram<u64>>);

impl Default for Recorder {
    fn default() -> Self {
        Self(Mutex::new(empty()))
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Records one duration.
    pub fn record(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        let mut h = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.saturating_record(us);
    }

    /// Takes what was recorded since the last take.
    pub fn take(&self) -> Histogram<u64> {
        let mut h = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *h, empty())
    }
}

/// The last `ticks` ticks' histograms and their sum.
pub struct Window {
    ticks: usize,
    parts: VecDeque<Histogram<u64>>,
    sum: Histogram<u64>,
}

impl Window {
    /// A window of `ticks` ticks (at least one).
    pub fn new(ticks: usize) -> Self {
        Self {
            ticks: ticks.max(1),
            parts: VecDeque::new(),
            sum: empty(),
        }
    }

    /// Adds a tick's histogram, dropping the oldest beyond the window.
    pub fn push(&mut self, tick: Histogram<u64>) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.sum.add(&tick);
        self.parts.push_back(tick);
        while self.parts.len() > self.ticks {
            if let Some(old) = self.parts.pop_front() {
                let _ = self.sum.subtract(&old);
            }
        }
    }

    /// The `q` quantile (0..1) of the window in milliseconds; 0 when it is empty.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.sum.is_empty() {
            0.0
        } else {
            self.sum.value_at_quantile(q) as f64 / 1_000.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_cover_the_window_and_forget_older_ticks() {
        let recorder = Recorder::default();
        let mut window = Window::new(2);
        for ms in 1..=100 {
            recorder.record(Duration::from_millis(ms));
        }
        window.push(recorder.take());
        let p95 = window.quantile_ms(0.95);
        assert!((94.0..=96.5).contains(&p95), "p95 {p95}");
        recorder.record(Duration::from_secs(2));
        window.push(recorder.take());
        assert!(window.quantile_ms(1.0) >= 1_990.0);
        // Two more ticks: the first two fall out of the window.
        window.push(recorder.take());
        window.push(recorder.take());
        assert_eq!(window.quantile_ms(0.5), 0.0);
    }
}
