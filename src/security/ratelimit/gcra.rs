//! The generic cell rate algorithm, as pure arithmetic on microseconds, and the quota it
//! enforces. The Redis script (`redis.rs`) runs the same steps inside Redis.
//!
//! A key stores one number, its theoretical arrival time (TAT): when its bucket would be full
//! again. A request of cost `c` moves the TAT `c` emission intervals later, and is allowed if
//! the TAT stays within the burst tolerance of now.

use std::{fmt, str::FromStr, time::Duration};

/// How much a key may spend: `count` units per `period`, at most `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub count: u64,
    pub period: Duration,
    pub burst: u64,
}

impl Quota {
    /// Time one unit takes to refill, in microseconds (at least 1).
    pub fn emission_us(&self) -> u64 {
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        (period / self.count.max(1)).max(1)
    }

    /// How far ahead of now the TAT may run: the whole burst, in microseconds.
    pub fn tolerance_us(&self) -> u64 {
        self.emission_us().saturating_mul(self.burst)
    }

    /// The units an operation is charged: at least one, at most the whole burst (so an
    /// operation dearer than the burst still runs — on a full bucket, which it then empties).
    pub fn charge(&self, cost: u64) -> u64 {
        cost.clamp(1, self.burst.max(1))
    }
}

impl FromStr for Quota {
    type Err = String;

    /// `COUNT/PERIOD[,BURST]`: `20/s,200`, `100/10s`, `60/m,60`, `1000/h`. The burst defaults to
    /// the count.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("expected COUNT/PERIOD[,BURST] such as `20/s,200`, got `{s}`");
        let (rate, burst) = match s.split_once(',') {
            Some((rate, burst)) => (rate, Some(burst.trim())),
            None => (s, None),
        };
        let (count, period) = rate.split_once('/').ok_or_else(usage)?;
        let count: u64 = count.trim().parse().map_err(|_| usage())?;
        let period = period.trim();
        let digits = period.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = &period[digits.len()..];
        let amount: u64 = if digits.is_empty() {
            1
        } else {
            digits.parse().map_err(|_| usage())?
        };
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            _ => return Err(usage()),
        };
        let burst = match burst {
            Some(b) => b.parse().map_err(|_| usage())?,
            None => count,
        };
        if count == 0 || amount == 0 || burst == 0 {
            return Err(format!("count, period and burst must be positive in `{s}`"));
        }
        Ok(Self {
            count,
            period: Duration::from_secs(amount.saturating_mul(unit_secs)),
            burst,
        })
    }
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}s,{}",
            self.count,
            self.period.as_secs(),
            self.burst
        )
    }
}

/// The answer to one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the operation may run (and was charged).
    pub allowed: bool,
    /// The burst: the most units the key can ever hold.
    pub limit: u64,
    /// Units left after this check.
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// When denied, until the same operation would be allowed; zero when allowed.
    pub retry_after: Duration,
}

impl Decision {
    /// Builds the decision from what the algorithm (here or in Redis) found: whether it
    /// allowed, the TAT ahead of now after the check, and the wait when denied.
    pub fn from_parts(quota: &Quota, allowed: bool, ahead_us: u64, retry_us: u64) -> Self {
        let tolerance = quota.tolerance_us();
        Self {
            allowed,
            limit: quota.burst,
            remaining: tolerance.saturating_sub(ahead_us) / quota.emission_us(),
            reset_after: Duration::from_micros(ahead_us),
            retry_after: if allowed {
                Duration::ZERO
            } else {
                Duration::from_micros(retry_us.max(1))
            },
        }
    }
}

/// One step of the algorithm: the decision, and the new TAT to store when allowed.
pub fn check(
    quota: &Quota,
    now_us: u64,
    tat_us: Option<u64>,
    cost: u64,
) -> (Decision, Option<u64>) {
    let emission = quota.emission_us();
    let tolerance = quota.tolerance_us();
    let tat = tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat.saturating_add(quota.charge(cost).saturating_mul(emission));
    let allow_at = new_tat.saturating_sub(tolerance);
    if now_us < allow_at {
        let decision = Decision::from_parts(quota, false, tat - now_us, allow_at - now_us);
        (decision, None)
    } else {
        let decision = Decision::from_parts(quota, true, new_tat - now_us, 0);
        (decision, Some(new_tat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000;

    fn quota(s: &str) -> Quota {
        s.parse().expect("quota")
    }

    #[test]
    fn a_full_bucket_allows_the_burst_at_once_then_refuses() {
        let q = quota("10/s,5");
        let now = 100 * SECOND;
        let mut tat = None;
        for expected_remaining in (0..5).rev() {
            let (d, next) = check(&q, now, tat, 1);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
            assert_eq!(d.limit, 5);
            tat = next;
        }
        let (d, next) = check(&q, now, tat, 1);
        assert!(!d.allowed && next.is_none());
        assert_eq!(d.remaining, 0);
        // One unit refills in 100 ms; the bucket is full after 500 ms.
        assert_eq!(d.retry_after, Duration::from_millis(100));
        assert_eq!(d.reset_after, Duration::from_millis(500));
    }

    #[test]
    fn units_refill_at_the_rate() {
        let q = quota("10/s,5");
        let now = 100 * SECOND;
        let (_, tat) = check(&q, now, None, 5);
        // 250 ms later, two units are back (a third is half-way).
        let later = now + SECOND / 4;
        let (d, _) = check(&q, later, tat, 3);
        assert!(!d.allowed);
        assert_eq!(d.retry_after, Duration::from_millis(50));
        let (d, tat2) = check(&q, later, tat, 2);
        assert!(d.allowed && d.remaining == 0);
        // Long idle: the bucket is full again, never fuller.
        let (d, _) = check(&q, later + 60 * SECOND, tat2, 1);
        assert!(d.allowed && d.remaining == 4);
    }

    #[test]
    fn cost_is_charged_in_units_and_capped_at_the_burst() {
        let q = quota("100/s,1000");
        let now = 5 * SECOND;
        let (cheap, tat) = check(&q, now, None, 10);
        assert_eq!(cheap.remaining, 990);
        let (dear, _) = check(&q, now, tat, 400);
        assert_eq!(dear.remaining, 590);
        // Dearer than the burst: runs on a full bucket only, and empties it.
        let (huge, tat) = check(&q, now, None, 50_000);
        assert!(huge.allowed && huge.remaining == 0);
        let (again, _) = check(&q, now + SECOND, tat, 50_000);
        assert!(!again.allowed);
        assert_eq!(again.retry_after, Duration::from_secs(9));
        // Zero-cost operations still cost a unit.
        let (zero, _) = check(&q, now, None, 0);
        assert_eq!(zero.remaining, 999);
    }

    #[test]
    fn a_denied_check_changes_nothing() {
        let q = quota("1/s,1");
        let (_, tat) = check(&q, SECOND, None, 1);
        let (d, next) = check(&q, SECOND, tat, 1);
        assert!(!d.allowed && next.is_none());
        let (d, _) = check(&q, 2 * SECOND, tat, 1);
        assert!(d.allowed, "refused checks must not push the TAT");
    }

    #[test]
    fn quotas_parse_with_units_and_default_burst() {
        assert_eq!(
            quota("20/s,200"),
            Quota {
                count: 20,
                period: Duration::from_secs(1),
                burst: 200
            }
        );
        let q = quota("60/m");
        assert_eq!((q.period, q.burst), (Duration::from_secs(60), 60));
        assert_eq!(quota("5/10s,10").period, Duration::from_secs(10));
        assert_eq!(quota(" 1000 / h , 5 ").period, Duration::from_secs(3_600));
        assert_eq!(quota("60/m").emission_us(), SECOND);
        for bad in [
            "", "20", "20/", "20/d", "x/s", "0/s", "5/s,0", "5/0s", "5/s,-1",
        ] {
            assert!(bad.parse::<Quota>().is_err(), "{bad:?} should not parse");
        }
        assert_eq!(quota(&quota("7/2m,9").to_string()), quota("7/2m,9"));
    }
}
