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
/// Leading-edge, not a fixed-phase window: a gateway pushing one batch a second at a 1 s
/// throttle sees each batch delivered as it lands, not up to a second later at a window's
/// edge. Ends when the hub closes the subscription.
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
            let due = last + period;
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
