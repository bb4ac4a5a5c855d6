//! The Redis store: the same GCRA step as `gcra::check`, run atomically inside Redis by one
//! Lua script per check, so every instance shares one bucket per key.
//!
//! The script reads Redis's own clock (instances' clocks may disagree) and stores the TAT with
//! a `PX` expiry of "until the bucket is full", so idle keys vanish by themselves.

use std::time::Duration;

use fred::{clients::Pool, interfaces::ClientLike as _, interfaces::LuaInterface as _};

use super::gcra::{Decision, Quota};

/// KEYS[1]: the bucket. ARGV: emission interval (µs), tolerance (µs), units to charge.
/// Returns {allowed (0/1), TAT ahead of now after the check (µs), wait when denied (µs)}.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost * emission
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, new_tat - now, 0}
";

/// Why a Redis check gave no answer.
#[derive(Debug)]
pub enum RedisFailure {
    /// No pooled connection is up (Redis down or restarting): failed without waiting.
    Disconnected,
    /// No answer within the command timeout.
    Timeout,
    /// Redis answered with an error, or something unexpected.
    Error(fred::error::Error),
}

impl std::fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Disconnected => f.write_str("not connected"),
            Self::Timeout => f.write_str("timed out"),
            Self::Error(err) => write!(f, "{err}"),
        }
    }
}

/// Buckets in Redis, under `prefix`.
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    sha: String,
    timeout: Duration,
}

impl RedisStore {
    pub fn new(pool: Pool, prefix: &str, timeout: Duration) -> Self {
        Self {
            pool,
            prefix: format!("{prefix}rl:"),
            sha: fred::util::sha1_hash(SCRIPT),
            timeout,
        }
    }

    /// Checks and, when allowed, charges `key` of `class`.
    pub async fn check(
        &self,
        class: &str,
        quota: &Quota,
        key: &str,
        cost: u64,
    ) -> Result<Decision, RedisFailure> {
        let client = self.pool.next_connected();
        if !client.is_connected() {
            return Err(RedisFailure::Disconnected);
        }
        let key = format!("{}{class}:{key}", self.prefix);
        let as_arg = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let args = vec![
            as_arg(quota.emission_us()),
            as_arg(quota.tolerance_us()),
            as_arg(quota.charge(cost)),
        ];
        let call = async {
            match client
                .evalsha::<Vec<i64>, _, _, _>(self.sha.as_str(), key.as_str(), args.clone())
                .await
            {
                // First use on this server (or after a restart): EVAL loads the script too.
                Err(err) if err.details().starts_with("NOSCRIPT") => {
                    client
                        .eval::<Vec<i64>, _, _, _>(SCRIPT, key.as_str(), args)
                        .await
                }
                other => other,
            }
        };
        // fred applies its own command timeout; this one also covers a queued command.
        let reply = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| RedisFailure::Timeout)?
            .map_err(RedisFailure::Error)?;
        let [allowed, ahead, retry] = reply[..] else {
            return Err(RedisFailure::Error(fred::error::Error::new(
                fred::error::ErrorKind::Parse,
                format!("unexpected rate-limit script reply {reply:?}"),
            )));
        };
        let micros = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Decision::from_parts(
            quota,
            allowed == 1,
            micros(ahead),
            micros(retry),
        ))
    }
}
