//! The Redis level: one string key per cached value (`{prefix}cache:v1:{kind}:{id}`), read
//! with one MGET per loader batch and written with one pipeline of `SET … PX … NX`.
//! Invalidation overwrites the keys with a short-lived tombstone, which refills (`NX`) cannot
//! replace: a load that read the database before the write committed cannot put the old value
//! back. Every command goes through the circuit breaker and the `REDIS_TIMEOUT_MS` deadline;
//! a failure is a miss, never an error.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use fred::{
    clients::Pool,
    interfaces::{KeysInterface as _, LuaInterface as _},
    types::{Expiration, SetOptions, Value},
};

use super::{
    Kind,
    breaker::{Breaker, Transition},
};
use crate::telemetry::Metrics;

/// Deletes every cache key of this server (`invalidateCache(all: true)`): SCAN in steps,
/// UNLINK each step, inside Redis so it is one round trip.
const CLEAR_SCRIPT: &str = r"
local cursor = '0'
local n = 0
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = page[1]
  if #page[2] > 0 then
    n = n + redis.call('UNLINK', unpack(page[2]))
  end
until cursor == '0'
return n
";

/// Stores a whole response unless one of its tags was invalidated within the tombstone
/// time (a response computed before a write must not land after it), and adds its key to
/// each tag's set, whose expiry is kept past its longest member. KEYS: the value, then the
/// tags' tombstones, then the tags' sets; ARGV: the bytes, the TTL in ms, the tag count.
const FILL_RESPONSE_SCRIPT: &str = r"
local n = tonumber(ARGV[3])
for i = 2, n + 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = n + 2, 2 * n + 1 do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
";

/// Drops every response of each tag (the tag's set names them) and leaves a tombstone per
/// tag. KEYS: the tags' sets, then their tombstones; ARGV: the tombstone TTL in ms.
const DROP_RESPONSES_SCRIPT: &str = r"
local n = #KEYS / 2
local dropped = 0
for i = 1, n do
  local members = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #members, 500 do
    dropped = dropped + redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', KEYS[i])
  redis.call('SET', KEYS[n + i], '1', 'PX', ARGV[1])
end
return dropped
";

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The cache's Redis side.
pub struct L2 {
    pool: Pool,
    prefix: String,
    /// The server's Redis prefix alone: persisted queries live outside the cache's keys, so
    /// `invalidateCache(all: true)` keeps them.
    base_prefix: String,
    timeout: Duration,
    pub breaker: Breaker,
    metrics: Arc<Metrics>,
}

impl L2 {
    pub fn new(
        pool: Pool,
        prefix: &str,
        timeout: Duration,
        breaker: Breaker,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics.cache.redis_up.set(1);
        Self {
            pool,
            prefix: format!("{prefix}cache:v{}:", super::codec::VERSION),
            base_prefix: prefix.to_owned(),
            timeout,
            breaker,
            metrics,
        }
    }

    /// The Redis key of one value.
    pub fn key(&self, kind: Kind, id: i64) -> String {
        format!("{}{}:{id}", self.prefix, kind.name())
    }

    /// Runs one Redis call under the breaker and the deadline; `None` when skipped or failed.
    async fn call<T, F>(&self, what: &'static str, fut: F) -> Option<T>
    where
        F: std::future::Future<Output = Result<T, fred::error::Error>>,
    {
        if !self.breaker.allow() {
            return None;
        }
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, fut).await;
        let elapsed = started.elapsed();
        let result = match outcome {
            Ok(Ok(v)) => Some(v),
            Ok(Err(err)) => {
                tracing::debug!(error = %err, what, "cache: Redis command failed");
                None
            }
            Err(_) => None,
        };
        // An answer slower than the timeout counts as down too.
        let ok = result.is_some() && elapsed <= self.timeout;
        self.metrics.cache.redis_command(ok, elapsed);
        match self.breaker.record(ok) {
            Transition::Opened => {
                self.metrics.cache.breaker_opened.inc();
                self.metrics.cache.redis_up.set(0);
                tracing::warn!(
                    what,
                    "cache: Redis unreachable or slow; serving from memory and the database"
                );
            }
            Transition::Closed => {
                self.metrics.cache.redis_up.set(1);
                tracing::info!("cache: Redis is back; the shared cache is used again");
            }
            Transition::None if !ok && self.breaker.log_due() => {
                tracing::warn!(what, "cache: Redis command failed; treated as a miss");
            }
            Transition::None => {}
        }
        result
    }

    /// The stored bytes of each id, in order (`None`: absent or unreadable); `None` overall
    /// when Redis was skipped or failed.
    pub async fn mget(&self, kind: Kind, ids: &[i64]) -> Option<Vec<Option<Vec<u8>>>> {
        if ids.is_empty() {
            return Some(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(kind, *id)).collect();
        let client = self.pool.next();
        let values: Vec<Value> = self.call("mget", client.mget(keys)).await?;
        if values.len() != ids.len() {
            return None;
        }
        Some(
            values
                .into_iter()
                .map(|v| v.as_bytes().map(<[u8]>::to_vec))
                .collect(),
        )
    }

    /// Writes values that are not there yet (`NX`: never over a tombstone), in one pipeline.
    pub async fn fill(&self, kind: Kind, values: Vec<(i64, Vec<u8>)>, ttl: Duration) {
        if values.is_empty() {
            return;
        }
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let pipeline = self.pool.next().pipeline();
        for (id, bytes) in values {
            let queued: Result<(), _> = pipeline
                .set(
                    self.key(kind, id),
                    Value::from(bytes.into_boxed_slice()),
                    Some(Expiration::PX(ttl)),
                    Some(SetOptions::NX),
                    false,
                )
                .await;
            if queued.is_err() {
                return;
            }
        }
        let _: Option<()> = self
            .call("fill", async {
                // Per-command results (`NX` refusals are nil, not errors) are not needed.
                let _ = pipeline.try_all::<Value>().await;
                Ok(())
            })
            .await;
    }

    /// Overwrites the keys with tombstones living `ttl`, in one pipeline. `false` when Redis
    /// could not be told (the keys then expire by their own TTL).
    pub async fn tombstone(&self, keys: &[(Kind, i64)], ttl: Duration) -> bool {
        if keys.is_empty() {
            return true;
        }
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let pipeline = self.pool.next().pipeline();
        for (kind, id) in keys {
            let queued: Result<(), _> = pipeline
                .set(
                    self.key(*kind, *id),
                    Value::from(super::codec::tombstone().into_boxed_slice()),
                    Some(Expiration::PX(ttl)),
                    None,
                    false,
                )
                .await;
            if queued.is_err() {
                return false;
            }
        }
        self.call("tombstone", pipeline.all::<Value>())
            .await
            .is_some()
    }

    /// Deletes every cache key of this server's prefix.
    pub async fn clear(&self) -> bool {
        let pattern = format!("{}*", self.prefix);
        let client = self.pool.next();
        self.call(
            "clear",
            client.eval::<Value, _, _, _>(CLEAR_SCRIPT, Vec::<String>::new(), vec![pattern]),
        )
        .await
        .is_some()
    }

    fn response_key(&self, key: &super::response::Key) -> String {
        format!("{}response:{}", self.prefix, hex(key))
    }

    fn tag_keys(&self, tags: &[String]) -> (Vec<String>, Vec<String>) {
        let sets = tags
            .iter()
            .map(|t| format!("{}rtag:{t}", self.prefix))
            .collect();
        let tombs = tags
            .iter()
            .map(|t| format!("{}rtomb:{t}", self.prefix))
            .collect();
        (sets, tombs)
    }

    /// The stored bytes of a whole response; `None` when absent, skipped or failed.
    pub async fn response(&self, key: &super::response::Key) -> Option<Vec<u8>> {
        let client = self.pool.next();
        let value: Value = self
            .call("get_response", client.get(self.response_key(key)))
            .await?;
        value.as_bytes().map(<[u8]>::to_vec)
    }

    /// Stores a whole response with its tags (refused while one of them is tombstoned).
    pub async fn fill_response(
        &self,
        key: &super::response::Key,
        bytes: Vec<u8>,
        tags: &[String],
        ttl: Duration,
    ) {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let (sets, tombs) = self.tag_keys(tags);
        let mut keys = Vec::with_capacity(1 + 2 * tags.len());
        keys.push(self.response_key(key));
        keys.extend(tombs);
        keys.extend(sets);
        let args = vec![
            Value::from(bytes.into_boxed_slice()),
            Value::from(ttl),
            Value::from(i64::try_from(tags.len()).unwrap_or(i64::MAX)),
        ];
        let client = self.pool.next();
        let _: Option<Value> = self
            .call(
                "fill_response",
                client.eval::<Value, _, _, _>(FILL_RESPONSE_SCRIPT, keys, args),
            )
            .await;
    }

    /// Drops the whole responses carrying `tags`; `false` when Redis could not be told.
    pub async fn drop_responses(&self, tags: &[String], tombstone: Duration) -> bool {
        if tags.is_empty() {
            return true;
        }
        let ttl = i64::try_from(tombstone.as_millis()).unwrap_or(i64::MAX);
        let (mut keys, tombs) = self.tag_keys(tags);
        keys.extend(tombs);
        let client = self.pool.next();
        self.call(
            "drop_responses",
            client.eval::<Value, _, _, _>(DROP_RESPONSES_SCRIPT, keys, vec![ttl]),
        )
        .await
        .is_some()
    }

    fn persisted_key(&self, hash: &str) -> String {
        format!("{}apq:v1:{hash}", self.base_prefix)
    }

    /// A persisted query's text; `None` when absent, skipped or failed.
    pub async fn persisted(&self, hash: &str) -> Option<String> {
        let client = self.pool.next();
        let value: Value = self
            .call("get_persisted", client.get(self.persisted_key(hash)))
            .await?;
        value.into_string()
    }

    /// Remembers a persisted query's text for `ttl`.
    pub async fn persist(&self, hash: &str, query: &str, ttl: Duration) {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let client = self.pool.next();
        let _: Option<Value> = self
            .call(
                "persist",
                client.set::<Value, _, _>(
                    self.persisted_key(hash),
                    query,
                    Some(Expiration::PX(ttl)),
                    None,
                    false,
                ),
            )
            .await;
    }

    /// Writes raw bytes under a key (tests corrupt values with it).
    pub async fn put_raw(&self, kind: Kind, id: i64, bytes: Vec<u8>) -> bool {
        let client = self.pool.next();
        self.call(
            "put_raw",
            client.set::<Value, _, _>(
                self.key(kind, id),
                Value::from(bytes.into_boxed_slice()),
                None,
                None,
                false,
            ),
        )
        .await
        .is_some()
    }
}
