//! Pacing a subscription's items: readings coalesced (the newest value per sensor, at most
//! one message per period, none while nothing arrives) and debouncing (at most one
//! message per gap, the last one always carrying the latest state). Both run off timers the
//! stream owns, and only while it is polled: a subscriber whose client stalls stops being
//! polled, and its hub queue drops the oldest instead.

use std::{collections::HashMap, time::Duration};

use futures::Stream;
use tokio::time::Instant;

use super::{hub::Readings, registry::Subscription};
use crate::events::Reading;

/// The newest reading of each sensor, at most one message per `period`: the first readings
/// after a quiet period go at once, what arrives before the period is over waits for it and
/// goes together (per sensor the newest only); nothing is sent while nothing arrives.
///
/// Leading-edge, not a fixed-phase window, and with [`SLACK`]: a message may leave a tenth of
/// the period early. Without it a source as fast as the throttle (a gateway pushing one batch
/// a second at a 1 s throttle) drifts: each batch that lands a little early waits for the
/// rest of the period, the next one is then due that much later, and the delay grows towards
/// a whole period (measured: p50 876 ms at 10,000 subscribers). With it each batch goes as it
/// lands while the source's jitter stays under a tenth of the period; a faster source is
/// still held to about one message per period. Ends when the hub closes the subscription.
pub fn coalesced(
    sub: Subscription<Readings>,
    period: Duration,
) -> impl Stream<Item = Vec<Reading>> + Send + 'static {
    futures::stream::unfold((sub, None::<Instant>), move |(sub, last)| async move {
        let mut batches = Vec::new();
        let mut window: HashMap<i64, Reading> = HashMap::new();
        while window.is_empty() {
            if !sub.recv_all(&mut batches).await {
                return None;
            }
            for batch in batches.drain(..) {
                keep_newest(&mut window, &batch);
            }
        }
        if let Some(last) = last {
            let due = due(last, period);
            // Whatever else arrives before the period is over joins this message.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => break,
                    open = sub.recv_all(&mut batches) => {
                        for batch in batches.drain(..) {
                            keep_newest(&mut window, &batch);
                        }
                        if !open {
                            break;
                        }
                    }
                }
            }
        }
        let mut out: Vec<Reading> = window.into_values().collect();
        out.sort_unstable_by_key(|r| r.sensor_id);
        Some((out, (sub, Some(Instant::now()))))
    })
}

/// The share of a coalescing period a message may leave early (see [`coalesced`]).
pub const SLACK: f64 = 0.1;

/// When the message after one sent at `last` may leave.
fn due<T: std::ops::Add<Duration, Output = T>>(last: T, period: Duration) -> T {
    last + period.mul_f64(1.0 - SLACK)
}

/// Folds `batch` into `window`: per sensor the reading with the latest time (a resent or
/// back-filled older reading does not replace a newer one; equal times, the later arrival).
fn keep_newest(window: &mut HashMap<i64, Reading>, batch: &[Reading]) {
    for r in batch {
        window
            .entry(r.sensor_id)
            .and_modify(|cur| {
                if r.ts >= cur.ts {
                    *cur = r.clone();
                }
            })
            .or_insert_with(|| r.clone());
    }
}

/// The items of `sub` in groups, at most one group per `gap`: the first item after a quiet
/// gap goes at once, later ones wait for the gap to pass and go together, so the last group
/// always ends with the latest item. Ends when the hub closes the subscription.
pub fn debounced<T: Send + 'static>(
    sub: Subscription<T>,
    gap: Duration,
) -> impl Stream<Item = Vec<T>> + Send + 'static {
    futures::stream::unfold((sub, None::<Instant>), move |(sub, last)| async move {
        let mut group = Vec::new();
        if !sub.recv_all(&mut group).await {
            return None;
        }
        if let Some(last) = last {
            let due = last + gap;
            // Whatever else arrives before the gap is over joins this group.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => break,
                    open = sub.recv_all(&mut group) => if !open { break },
                }
            }
        }
        Some((group, (sub, Some(Instant::now()))))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::due;

    /// When each of `arrivals` (ms, in order) leaves, as [`super::coalesced`] sends: at once
    /// when due, else with the message that waits for the period to pass.
    fn sends(arrivals: &[u64], period_ms: u64) -> Vec<u64> {
        let period = Duration::from_millis(period_ms);
        let (mut last, mut waiting) = (None::<Duration>, None::<Duration>);
        let mut out = Vec::new();
        for &a in arrivals {
            let arrival = Duration::from_millis(a);
            if let Some(w) = waiting {
                if arrival <= w {
                    out.push(w.as_millis() as u64);
                    continue;
                }
                (last, waiting) = (Some(w), None);
            }
            let at = match last {
                Some(l) if arrival < due(l, period) => {
                    waiting = Some(due(l, period));
                    due(l, period)
                }
                _ => {
                    last = Some(arrival);
                    arrival
                }
            };
            out.push(at.as_millis() as u64);
        }
        out
    }

    #[test]
    fn a_source_as_fast_as_the_throttle_is_delivered_as_it_lands() {
        // A 1 Hz gateway with up to 60 ms of jitter either way, at a 1 s throttle.
        let jitter: [i64; 8] = [0, -40, 30, -60, 10, -20, 50, -10];
        let arrivals: Vec<u64> = (0..200)
            .map(|k| (1_000 + k * 1_000 + jitter[k as usize % 8]) as u64)
            .collect();
        assert_eq!(sends(&arrivals, 1_000), arrivals, "no batch waits");
    }

    #[test]
    fn a_faster_source_still_gets_about_one_message_a_period() {
        let arrivals: Vec<u64> = (0..100).map(|k| k * 100).collect();
        let mut messages = sends(&arrivals, 1_000);
        messages.dedup();
        for pair in messages.windows(2) {
            assert!(pair[1] - pair[0] >= 900, "{pair:?}");
        }
        // 10 s of batches: one message at the first, then one every 900 ms.
        assert_eq!(messages.len(), 12, "{messages:?}");
    }
}
