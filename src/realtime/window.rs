//! Pacing a subscription's items: readings coalesced per window (the newest value per
//! sensor, one message per window, none for a quiet window) and debouncing (at most one
//! message per gap, the last one always carrying the latest state). Both run off timers the
//! stream owns, and only while it is polled: a subscriber whose client stalls stops being
//! polled, and its hub queue drops the oldest instead.

use std::{collections::HashMap, time::Duration};

use futures::Stream;
use tokio::time::{Instant, MissedTickBehavior};

use super::{hub::Readings, registry::Subscription};
use crate::events::Reading;

/// Per `period`, the newest reading of each sensor that reported in it, ordered by sensor
/// id; a window without readings sends nothing. Ends when the hub closes the subscription.
pub fn coalesced(
    sub: Subscription<Readings>,
    period: Duration,
) -> impl Stream<Item = Vec<Reading>> + Send + 'static {
    // The first window ends one period from now (a plain `interval` ticks at once).
    let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
    // A late tick (a busy runtime) moves the next one back instead of firing a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let window: HashMap<i64, Reading> = HashMap::new();
    futures::stream::unfold(
        (sub, ticker, window),
        |(sub, mut ticker, mut window)| async move {
            let mut batches = Vec::new();
            loop {
                tokio::select! {
                    open = sub.recv_all(&mut batches) => {
                        if !open {
                            return None;
                        }
                        for batch in batches.drain(..) {
                            keep_newest(&mut window, &batch);
                        }
                    }
                    _ = ticker.tick() => {
                        if !window.is_empty() {
                            let mut out: Vec<Reading> = window.drain().map(|(_, r)| r).collect();
                            out.sort_unstable_by_key(|r| r.sensor_id);
                            return Some((out, (sub, ticker, window)));
                        }
                    }
                }
            }
        },
    )
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
