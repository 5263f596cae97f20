//! The Redis velocity store, shared by many gate nodes.
//!
//! Same semantics as [`MemoryStore`](super::MemoryStore), with every
//! read-modify-write an atomic Lua script on the server:
//!
//! * **Exclusivity across nodes.** [`Store::exclusive`] takes, in one
//!   script and all-or-nothing, a lock on the withdrawal id and on each of
//!   its five keys (`SET … PX` with a random token; a lock already holding
//!   our token is re-taken, so a retried script is harmless). Busy locks
//!   are retried with a short jittered backoff up to `lock_wait`, then the
//!   store is [`Unavailable`](VelocityError::Unavailable) and the gate
//!   holds. Taking every lock at once or none means no node ever waits
//!   while holding a lock: no deadlock between nodes.
//! * **Commit is fenced.** The commit script first checks that every lock
//!   still holds our token: a lock that expired (a node stalled longer than
//!   `lock_ttl`) may have let another node decide on the same keys, so
//!   nothing is recorded and the store reports `Unavailable` (HOLD, never a
//!   silent overshoot). It then assigns the event uid (`HINCRBY`), adds the
//!   event to the five keys' sorted sets, stores the decision record, prunes
//!   what fell out of the retention, and releases the locks, all atomically.
//! * **Windows** are one script summing over `ZRANGEBYSCORE (t-W +inf`, with
//!   exact (saturating) u64 sums computed in base-10⁹ limbs, since Lua
//!   numbers are doubles.
//!
//! Layout under the prefix `P` (default `riskgate:v1:`):
//!
//! | key | type | content |
//! |---|---|---|
//! | `P e:<key>` | sorted set | one member per allowed event: `uid:amount:usd_cents:asset`, score = requested-at |
//! | `P d:<id>` | hash | the decision record: `f` fingerprint (hex), `at` requested-at, `d` decision JSON, `p` key parts JSON, `c` the event member (ALLOW only) |
//! | `P ids` | list | `requested-at:id` of each new record, in commit order (pruning) |
//! | `P meta` | hash | `newest` requested-at seen, `horizon` (events older may be pruned), `uid` counter |
//! | `P l:i:<id>`, `P l:k:<key>` | string | lock tokens, with a TTL |
//!
//! History is pruned by the logical clock of the requests as in the memory
//! store: a commit trims, under the keys it adds to, the events older than
//! `newest - retention`, and pops the decision records older than that from
//! the front of the commit-order list (at most [`PRUNE_BATCH`] per commit;
//! the rest in later ones). Reads do not wait for that: a decision or an
//! event older than `newest - retention` counts as pruned (windows never
//! reach below the horizon; `recorded` and `key_stats` skip them).
//! Event sets and records also carry a wall-clock TTL of the retention plus
//! a day, so keys that see no more traffic do not stay forever.
//!
//! Every connection has connect, read and write timeouts; a failed
//! connection is dropped (never reused with a reply in flight), and an I/O
//! failure makes the store fail fast for the next `timeout` (a circuit
//! breaker), so a decision that needs several round trips waits for at most
//! about one timeout when Redis is unreachable. Timestamps must be below
//! 2⁵³ ms (Redis scores are doubles); later ones are refused as
//! `Unavailable`.
//!
//! A commit whose reply is lost (the server ran it, then the connection
//! failed or timed out) leaves the decision recorded while the gate
//! answered HOLD: the error is conservative (the event counts, nothing was
//! paid out), and a retry of the id replays the recorded decision. Scripts
//! of a server that hung and resumed may take locks nobody releases; they
//! expire after `lock_ttl`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Connection, IntoConnectionInfo, RedisError, Script, Value};

use super::{
    Commit, Contribution, Exclusive, KeyParts, KeyStats, Keys, Recorded, Released, Store,
    VelocityError, WindowStats, check_horizon, check_window_len, lock,
};
use riskgate_model::Decision;

/// Decision records pruned at most per commit (the rest in later ones), so
/// one commit after a long pause does not block the server.
pub const PRUNE_BATCH: u32 = 4096;
/// Largest timestamp a Redis score holds exactly.
const MAX_TS: u64 = (1 << 53) - 1;
/// Extra wall-clock life of event sets and records beyond the retention.
const TTL_GRACE_MS: u64 = 24 * 3_600_000;

/// Settings of a [`RedisStore`]; every field can be given in the URL's
/// query (`?prefix=…&timeout_ms=…&lock_ttl_ms=…&lock_wait_ms=…&pool=…&retention_ms=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// Prefix of every key, so several deployments can share one server.
    pub prefix: String,
    /// History kept, ms; every node sharing the prefix must agree.
    pub retention_ms: u64,
    /// Connect, read and write timeout of each command.
    pub timeout: Duration,
    /// Life of a lock: longer than any evaluation (all policies' deadlines
    /// plus the round trips), short enough that a crashed node's locks free
    /// its keys quickly.
    pub lock_ttl: Duration,
    /// How long `exclusive` retries locks held by another node.
    pub lock_wait: Duration,
    /// Idle connections kept for reuse.
    pub pool: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "riskgate:v1:".to_string(),
            retention_ms: super::DEFAULT_RETENTION_MS,
            timeout: Duration::from_millis(500),
            lock_ttl: Duration::from_secs(5),
            lock_wait: Duration::from_secs(2),
            pool: 64,
        }
    }
}

/// A Redis URL, or an option in it, that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisUrlError {
    #[error("redis URL option `{name}`: `{value}` is not a number")]
    NotANumber { name: String, value: String },
    #[error("redis URL option `prefix` is empty")]
    EmptyPrefix,
    #[error("redis URL option `retention_ms` must be between 1 and {MAX_TS}")]
    Retention,
    #[error("redis URL `{base}`: {source}")]
    Url {
        base: String,
        #[source]
        source: RedisError,
    },
}

/// A reply of the server that is not what the scripts return.
#[derive(Debug, thiserror::Error)]
enum ReplyError {
    #[error("unexpected reply {0}")]
    Unexpected(String),
    #[error("unexpected reply item {0}")]
    UnexpectedItem(String),
    #[error(transparent)]
    Utf8(#[from] std::string::FromUtf8Error),
    #[error("short reply")]
    Short,
    #[error("`{0}` is not a number")]
    NotANumber(String),
    #[error("incomplete record")]
    Incomplete,
    #[error("bad fingerprint")]
    Fingerprint,
    #[error("bad requested-at")]
    RequestedAt,
    #[error("bad decision: {0}")]
    Decision(#[source] serde_json::Error),
    #[error("bad parts: {0}")]
    Parts(#[source] serde_json::Error),
    #[error("bad contribution")]
    Contribution,
}

impl RedisOptions {
    /// Splits `redis://host:port[/db][?options]` into the URL the client
    /// connects to and the options (defaults for those not given).
    pub fn from_url(url: &str) -> Result<(String, RedisOptions), RedisUrlError> {
        let mut options = RedisOptions::default();
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut passed = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || {
                value.parse::<u64>().map_err(|_| RedisUrlError::NotANumber {
                    name: name.to_string(),
                    value: value.to_string(),
                })
            };
            match name {
                "prefix" => {
                    if value.is_empty() {
                        return Err(RedisUrlError::EmptyPrefix);
                    }
                    options.prefix = value.to_string();
                }
                "retention_ms" => options.retention_ms = number()?,
                "timeout_ms" => options.timeout = Duration::from_millis(number()?.max(1)),
                "lock_ttl_ms" => options.lock_ttl = Duration::from_millis(number()?.max(1)),
                "lock_wait_ms" => options.lock_wait = Duration::from_millis(number()?),
                "pool" => options.pool = number()? as usize,
                // The client's own options (`protocol`).
                _ => passed.push(pair),
            }
        }
        if options.retention_ms == 0 || options.retention_ms > MAX_TS {
            return Err(RedisUrlError::Retention);
        }
        let base = if passed.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        Ok((base, options))
    }
}

/// Velocity state in Redis, shared by every gate node using the same
/// server and prefix.
pub struct RedisStore {
    client: redis::Client,
    /// The URL without credentials, and the prefix.
    shown: String,
    options: RedisOptions,
    pool: Mutex<Vec<Connection>>,
    /// Fail fast until then after an I/O failure, with its description.
    down: Mutex<Option<(Instant, String)>>,
    scripts: Scripts,
}

struct Scripts {
    exclusive: Script,
    unlock: Script,
    window: Script,
    commit: Script,
    release: Script,
    key_stats: Script,
}

/// Exact sums of u64 decimal strings in Lua: `hi * 10^9 + lo`, `hi`
/// clamped just above the largest u64's so that it stays exact.
const LUA_SUM: &str = r#"
local function add(hi, lo, s)
  local n = #s
  if n > 9 then
    hi = hi + tonumber(string.sub(s, 1, n - 9))
    lo = lo + tonumber(string.sub(s, n - 8))
  else
    lo = lo + tonumber(s)
  end
  if lo >= 1000000000 then
    hi = hi + 1
    lo = lo - 1000000000
  end
  if hi > 18446744074 then hi = 18446744074 end
  return hi, lo
end
local function fmt(x) return string.format('%.0f', x) end
-- member = uid:amount:usd:asset
local function fields(m)
  local a = string.find(m, ':', 1, true)
  local b = string.find(m, ':', a + 1, true)
  local c = string.find(m, ':', b + 1, true)
  return string.sub(m, a + 1, b - 1), string.sub(m, b + 1, c - 1), string.sub(m, c + 1)
end
"#;

/// KEYS: the lock keys. ARGV: token, ttl ms. 1 when every lock is ours.
const EXCLUSIVE: &str = r#"
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and v ~= ARGV[1] then return 0 end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return 1
"#;

/// KEYS: the lock keys. ARGV: token. Deletes the locks still ours.
const UNLOCK: &str = r#"
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
"#;

/// KEYS: events, meta. ARGV: lowest score (exclusive) or -inf, asset.
/// Returns count, sum hi/lo, usd hi/lo, horizon.
const WINDOW: &str = r#"
local horizon = redis.call('HGET', KEYS[2], 'horizon') or '0'
local members = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local shi, slo, uhi, ulo = 0, 0, 0, 0
for i = 1, #members do
  local amount, usd, asset = fields(members[i])
  uhi, ulo = add(uhi, ulo, usd)
  if asset == ARGV[2] then shi, slo = add(shi, slo, amount) end
end
return {tostring(#members), fmt(shi), fmt(slo), fmt(uhi), fmt(ulo), horizon}
"#;

/// KEYS: meta, ids, record, 5 event sets, 6 locks.
/// ARGV: token, id, requested-at, retention, ttl, fingerprint, decision,
/// parts, allowed (1/0), amount, usd, asset, record-key prefix, prune batch,
/// newest cap (the furthest requested-at moves `newest`, see `newest_cap`),
/// the contribution's time (its requested-at, or an approval's time; kept
/// in the record as `ct`).
/// Returns {'ok', uid} or {'lost', lock index}.
const COMMIT: &str = r#"
for i = 9, 14 do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return {'lost', tostring(i - 9)} end
end
local at = tonumber(ARGV[3])
local capped = math.min(at, tonumber(ARGV[15]))
local newest = tonumber(redis.call('HGET', KEYS[1], 'newest') or '0')
if capped > newest then
  newest = capped
  redis.call('HSET', KEYS[1], 'newest', fmt(newest))
end
local cutoff = newest - tonumber(ARGV[4])
if cutoff < 0 then cutoff = 0 end
local uid = ''
local member = false
if ARGV[9] == '1' then
  uid = tostring(redis.call('HINCRBY', KEYS[1], 'uid', 1))
  member = uid .. ':' .. ARGV[10] .. ':' .. ARGV[11] .. ':' .. ARGV[12]
  for i = 4, 8 do
    redis.call('ZADD', KEYS[i], ARGV[16], member)
    if cutoff > 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. fmt(cutoff))
    end
    redis.call('PEXPIRE', KEYS[i], ARGV[5])
  end
end
if cutoff > 0 then
  local horizon = tonumber(redis.call('HGET', KEYS[1], 'horizon') or '0')
  if cutoff > horizon then redis.call('HSET', KEYS[1], 'horizon', fmt(cutoff)) end
end
if redis.call('DEL', KEYS[3]) == 0 then
  redis.call('RPUSH', KEYS[2], ARGV[3] .. ':' .. ARGV[2])
end
redis.call('HSET', KEYS[3], 'f', ARGV[6], 'at', ARGV[3], 'd', ARGV[7], 'p', ARGV[8])
if member then redis.call('HSET', KEYS[3], 'c', member, 'ct', ARGV[16]) end
redis.call('PEXPIRE', KEYS[3], ARGV[5])
if cutoff > 0 then
  for _ = 1, tonumber(ARGV[14]) do
    local first = redis.call('LINDEX', KEYS[2], 0)
    if not first then break end
    local colon = string.find(first, ':', 1, true)
    if tonumber(string.sub(first, 1, colon - 1)) >= cutoff then break end
    redis.call('LPOP', KEYS[2])
    local record = ARGV[13] .. string.sub(first, colon + 1)
    local rat = redis.call('HGET', record, 'at')
    if rat and tonumber(rat) < cutoff then redis.call('DEL', record) end
  end
end
for i = 9, 14 do redis.call('DEL', KEYS[i]) end
return {'ok', uid}
"#;

/// KEYS: record, 5 event sets. ARGV: expected parts JSON. The commit-order
/// list keeps the id until pruned, as the memory store's does.
/// Returns {'unknown'}, {'moved'} or {'ok', had contribution, requested-at}.
const RELEASE: &str = r#"
local v = redis.call('HMGET', KEYS[1], 'p', 'c', 'at')
if not v[1] then return {'unknown'} end
if v[1] ~= ARGV[1] then return {'moved'} end
if v[2] then
  for i = 2, 6 do redis.call('ZREM', KEYS[i], v[2]) end
end
redis.call('DEL', KEYS[1])
local had = '0'
if v[2] then had = '1' end
return {'ok', had, v[3]}
"#;

/// KEYS: events, meta. ARGV: retention. Events older than the retention
/// (not pruned yet) do not count. Returns count, oldest score, newest
/// score, usd hi/lo.
const KEY_STATS: &str = r#"
local cutoff = tonumber(redis.call('HGET', KEYS[2], 'newest') or '0') - tonumber(ARGV[1])
if cutoff < 0 then cutoff = 0 end
local members = redis.call('ZRANGEBYSCORE', KEYS[1], fmt(cutoff), '+inf', 'WITHSCORES')
if #members == 0 then return {'0'} end
local uhi, ulo = 0, 0
for i = 1, #members, 2 do
  local _, usd = fields(members[i])
  uhi, ulo = add(uhi, ulo, usd)
end
return {tostring(#members / 2), members[2], members[#members], fmt(uhi), fmt(ulo)}
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{LUA_SUM}{body}"))
}

/// A script's array reply as strings.
fn strings(v: Value) -> Result<Vec<String>, ReplyError> {
    let Value::Array(items) = v else {
        return Err(ReplyError::Unexpected(format!("{v:?}")));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::BulkString(b) => Ok(String::from_utf8(b)?),
            Value::SimpleString(s) => Ok(s),
            Value::Int(i) => Ok(i.to_string()),
            other => Err(ReplyError::UnexpectedItem(format!("{other:?}"))),
        })
        .collect()
}

fn num(s: Option<&String>) -> Result<u64, ReplyError> {
    let s = s.ok_or(ReplyError::Short)?;
    s.parse::<u64>()
        .or_else(|_| {
            // A score formatted as a double.
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
                .ok_or(())
        })
        .map_err(|_| ReplyError::NotANumber(s.clone()))
}

/// `hi * 10^9 + lo`, saturated to u64.
fn limbs(hi: Option<&String>, lo: Option<&String>) -> Result<u64, ReplyError> {
    let v = u128::from(num(hi)?) * 1_000_000_000 + u128::from(num(lo)?);
    Ok(u64::try_from(v).unwrap_or(u64::MAX))
}

fn check_ts(t: u64) -> Result<(), VelocityError> {
    if t > MAX_TS {
        return Err(VelocityError::Unavailable(format!(
            "time {t} is beyond what the Redis store represents exactly ({MAX_TS})"
        )));
    }
    Ok(())
}

/// The event member of an allowed withdrawal.
fn parse_member(m: &str, ts: u64) -> Option<Contribution> {
    let mut it = m.splitn(4, ':');
    Some(Contribution {
        uid: it.next()?.parse().ok()?,
        ts,
        amount: it.next()?.parse().ok()?,
        usd_cents: it.next()?.parse().ok()?,
    })
}

/// How a command may be retried on a fresh connection after a reused one
/// failed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// The command is idempotent (or fenced): retry once.
    Once,
    Never,
}

impl RedisStore {
    /// A store on `url` (`redis://[user:password@]host:port[/db][?options]`,
    /// options as in [`RedisOptions`]). Does not connect: an unreachable
    /// server makes each call fail (the gate holds) until it answers.
    pub fn open(url: &str) -> Result<Self, RedisUrlError> {
        let (base, options) = RedisOptions::from_url(url)?;
        Self::with_options(&base, options)
    }

    /// A store on `url` with `options` (any options in the URL are ignored).
    pub fn with_options(url: &str, options: RedisOptions) -> Result<Self, RedisUrlError> {
        let base = url.split_once('?').map_or(url, |(b, _)| b);
        let bad = |source: RedisError| RedisUrlError::Url {
            base: base.to_string(),
            source,
        };
        let info = url.into_connection_info().map_err(bad)?;
        // One small request per round trip: no Nagle delay.
        let tcp = info.tcp_settings().clone().set_nodelay(true);
        let client = redis::Client::open(info.set_tcp_settings(tcp)).map_err(bad)?;
        // Never show credentials.
        let shown = match base.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://…@{host}"),
                None => base.to_string(),
            },
            None => base.to_string(),
        };
        Ok(RedisStore {
            client,
            shown: format!("{shown} prefix={}", options.prefix),
            options,
            pool: Mutex::new(Vec::new()),
            down: Mutex::new(None),
            scripts: Scripts {
                exclusive: script(EXCLUSIVE),
                unlock: script(UNLOCK),
                window: script(WINDOW),
                commit: script(COMMIT),
                release: script(RELEASE),
                key_stats: script(KEY_STATS),
            },
        })
    }

    /// The settings in use.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// One round trip (`PING`): whether the server answers now.
    pub fn ping(&self) -> Result<(), VelocityError> {
        self.run(Retry::Once, |con| redis::cmd("PING").query::<String>(con))
            .map(|_| ())
    }

    /// Deletes every key under the prefix (tests, benchmarks). Returns the
    /// number deleted.
    pub fn clear(&self) -> Result<u64, VelocityError> {
        let pattern = format!("{}*", glob_escape(&self.options.prefix));
        self.run(Retry::Once, |con| {
            let mut deleted = 0u64;
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query(con)?;
                if !keys.is_empty() {
                    deleted += redis::cmd("DEL").arg(&keys).query::<u64>(con)?;
                }
                if next == 0 {
                    return Ok(deleted);
                }
                cursor = next;
            }
        })
    }

    fn key(&self, kind: &str, name: &str) -> String {
        let mut k = String::with_capacity(self.options.prefix.len() + kind.len() + name.len());
        k.push_str(&self.options.prefix);
        k.push_str(kind);
        k.push_str(name);
        k
    }

    fn meta(&self) -> String {
        self.key("meta", "")
    }

    fn ids(&self) -> String {
        self.key("ids", "")
    }

    fn record_key(&self, id: &str) -> String {
        self.key("d:", id)
    }

    fn events(&self, key: &str) -> String {
        self.key("e:", key)
    }

    fn locks(&self, id: &str, keys: &Keys) -> Vec<String> {
        std::iter::once(self.key("l:i:", id))
            .chain(keys.all().map(|k| self.key("l:k:", k)))
            .collect()
    }

    fn ttl_ms(&self) -> u64 {
        self.options.retention_ms.saturating_add(TTL_GRACE_MS)
    }

    fn unavailable(&self, what: impl std::fmt::Display) -> VelocityError {
        VelocityError::Unavailable(format!("{}: {what}", self.shown))
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let timeout = Some(self.options.timeout);
        let con = self
            .client
            .get_connection_with_timeout(self.options.timeout)?;
        con.set_read_timeout(timeout)?;
        con.set_write_timeout(timeout)?;
        Ok(con)
    }

    /// Runs `f` on a pooled (or new) connection; every failure is
    /// `Unavailable`.
    fn run<T>(
        &self,
        retry: Retry,
        mut f: impl FnMut(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, VelocityError> {
        if let Some((until, why)) = lock(&self.down).as_ref()
            && Instant::now() < *until
        {
            return Err(self.unavailable(format!("unreachable ({why})")));
        }
        let pooled = lock(&self.pool).pop();
        let reused = pooled.is_some();
        let mut con = match pooled {
            Some(con) => con,
            None => self.connect().map_err(|e| self.failed(&e))?,
        };
        let result = match f(&mut con) {
            Err(e)
                if reused
                    && retry == Retry::Once
                    && !e.is_timeout()
                    && (e.is_io_error() || e.is_connection_dropped()) =>
            {
                // A pooled connection the server closed (restart, idle
                // timeout): the others are likely dead too.
                lock(&self.pool).clear();
                con = self.connect().map_err(|e| self.failed(&e))?;
                f(&mut con)
            }
            other => other,
        };
        match result {
            Ok(v) => {
                let mut pool = lock(&self.pool);
                if pool.len() < self.options.pool {
                    pool.push(con);
                }
                Ok(v)
            }
            // The connection is dropped: a reply may still be in flight.
            Err(e) => Err(self.failed(&e)),
        }
    }

    /// The error for `e`; an I/O failure also trips the breaker.
    fn failed(&self, e: &RedisError) -> VelocityError {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            lock(&self.pool).clear();
            *lock(&self.down) = Some((Instant::now() + self.options.timeout, e.to_string()));
        }
        self.unavailable(e)
    }

    fn token() -> Result<String, VelocityError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| {
            VelocityError::Unavailable(format!("no randomness for a lock token: {e}"))
        })?;
        Ok(hex::encode(bytes))
    }

    fn parse_recorded(
        &self,
        id: &str,
        fields: Vec<Option<String>>,
    ) -> Result<Recorded, ReplyError> {
        let [f, at, d, p, c, ct]: [Option<String>; 6] =
            fields.try_into().map_err(|_| ReplyError::Short)?;
        let (Some(f), Some(at), Some(d), Some(p)) = (f, at, d, p) else {
            return Err(ReplyError::Incomplete);
        };
        let fingerprint: [u8; 32] = hex::decode(&f)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ReplyError::Fingerprint)?;
        let requested_at: u64 = at.parse().map_err(|_| ReplyError::RequestedAt)?;
        let mut decision: Decision = serde_json::from_str(&d).map_err(ReplyError::Decision)?;
        decision.id = id.to_string();
        let parts: KeyParts = serde_json::from_str(&p).map_err(ReplyError::Parts)?;
        // The contribution counts from `ct` (an approval's time); records
        // written before it existed count from their requested-at.
        let ts = match ct {
            Some(ct) => ct.parse().map_err(|_| ReplyError::Contribution)?,
            None => requested_at,
        };
        let contribution = match c {
            Some(m) => Some(parse_member(&m, ts).ok_or(ReplyError::Contribution)?),
            None => None,
        };
        Ok(Recorded {
            fingerprint,
            decision,
            requested_at,
            contribution,
            parts,
        })
    }
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store for RedisStore {
    fn holds(&self, _query: &crate::HoldQuery) -> Result<Vec<Recorded>, VelocityError> {
        Err(self.unavailable("holds are not listed by the Redis store yet"))
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn retention_ms(&self) -> u64 {
        self.options.retention_ms
    }

    fn exclusive(&self, id: &str, keys: &Keys) -> Result<Exclusive, VelocityError> {
        let token = Self::token()?;
        let locks = self.locks(id, keys);
        let ttl = self.options.lock_ttl.as_millis().max(1) as u64;
        let started = Instant::now();
        let mut pause = Duration::from_micros(100);
        loop {
            let got: i64 = self.run(Retry::Once, |con| {
                let mut call = self.scripts.exclusive.prepare_invoke();
                for l in &locks {
                    call.key(l);
                }
                call.arg(&token).arg(ttl).invoke(con)
            })?;
            if got == 1 {
                return Ok(Exclusive { token: Some(token) });
            }
            let waited = started.elapsed();
            if waited >= self.options.lock_wait {
                return Err(self.unavailable(format!(
                    "the keys of `{id}` stayed locked by another request for {} ms",
                    waited.as_millis()
                )));
            }
            // Jitter from the clock: nodes retrying together drift apart.
            let jitter =
                u64::from(started.elapsed().subsec_nanos()) % (pause.as_micros() as u64 + 1);
            let sleep = (pause + Duration::from_micros(jitter))
                .min(self.options.lock_wait.saturating_sub(waited));
            std::thread::sleep(sleep);
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    fn unlock(&self, id: &str, keys: &Keys, exclusive: Exclusive) {
        let Some(token) = exclusive.token else {
            return;
        };
        let locks = self.locks(id, keys);
        let result = self.run(Retry::Once, |con| {
            let mut call = self.scripts.unlock.prepare_invoke();
            for l in &locks {
                call.key(l);
            }
            call.arg(&token).invoke::<i64>(con)
        });
        if let Err(e) = result {
            // The locks expire after lock_ttl.
            tracing::warn!("cannot unlock the keys of `{id}`: {e}");
        }
    }

    fn recorded(&self, id: &str) -> Result<Option<Recorded>, VelocityError> {
        let (key, meta) = (self.record_key(id), self.meta());
        let (fields, newest): (Vec<Option<String>>, Option<u64>) =
            self.run(Retry::Once, |con| {
                redis::pipe()
                    .cmd("HMGET")
                    .arg(&key)
                    .arg(&["f", "at", "d", "p", "c", "ct"])
                    .cmd("HGET")
                    .arg(&meta)
                    .arg("newest")
                    .query(con)
            })?;
        if fields.iter().all(Option::is_none) {
            return Ok(None);
        }
        // A decision older than the retention counts as pruned, whether or
        // not a commit has popped it yet (as in the memory store).
        let cutoff = newest
            .unwrap_or(0)
            .saturating_sub(self.options.retention_ms);
        let at = fields
            .get(1)
            .cloned()
            .flatten()
            .and_then(|at| at.parse::<u64>().ok());
        if at.is_some_and(|at| at < cutoff) {
            return Ok(None);
        }
        self.parse_recorded(id, fields)
            .map(Some)
            .map_err(|e| self.unavailable(format!("corrupt record of `{id}`: {e}")))
    }

    fn window(
        &self,
        key: &str,
        asset: &str,
        t: u64,
        window_ms: u64,
    ) -> Result<WindowStats, VelocityError> {
        check_window_len(window_ms, self.options.retention_ms)?;
        check_ts(t)?;
        // Every event with ts > t - window.
        let from = match t.checked_sub(window_ms) {
            Some(low) => format!("({low}"),
            None => "-inf".to_string(),
        };
        let (events, meta) = (self.events(key), self.meta());
        let reply = self.run(Retry::Once, |con| {
            self.scripts
                .window
                .key(&events)
                .key(&meta)
                .arg(&from)
                .arg(asset)
                .invoke::<Value>(con)
        })?;
        let parsed = strings(reply).and_then(|r| {
            Ok((
                num(r.first())?,
                limbs(r.get(1), r.get(2))?,
                limbs(r.get(3), r.get(4))?,
                num(r.get(5))?,
            ))
        });
        let (count, sum, usd_cents, horizon) =
            parsed.map_err(|e| self.unavailable(format!("bad window reply: {e}")))?;
        check_horizon(t, window_ms, horizon)?;
        Ok(WindowStats {
            count,
            sum,
            usd_cents,
        })
    }

    fn commit(&self, commit: &Commit<'_>, exclusive: Exclusive) -> Result<(), VelocityError> {
        let Some(token) = exclusive.token else {
            return Err(self.unavailable("commit without the keys' locks"));
        };
        check_ts(commit.requested_at)?;
        check_ts(commit.event_ts())?;
        let decision = serde_json::to_string(&commit.decision.without_timing())
            .map_err(|e| self.unavailable(format!("cannot encode the decision: {e}")))?;
        let parts = serde_json::to_string(commit.keys.parts())
            .map_err(|e| self.unavailable(format!("cannot encode the key parts: {e}")))?;
        let (allowed, amount, usd) = match commit.allowed {
            Some((amount, usd)) => ("1", amount, usd),
            None => ("0", 0, 0),
        };
        let mut keys = vec![self.meta(), self.ids(), self.record_key(commit.id)];
        keys.extend(commit.keys.all().map(|k| self.events(k)));
        keys.extend(self.locks(commit.id, commit.keys));
        let record_prefix = self.record_key("");
        // Fenced by the lock tokens, so a retry after a lost reply records
        // nothing twice (the locks are gone: "lost").
        let reply = self.run(Retry::Once, |con| {
            let mut call = self.scripts.commit.prepare_invoke();
            for k in &keys {
                call.key(k);
            }
            call.arg(&token)
                .arg(commit.id)
                .arg(commit.requested_at)
                .arg(self.options.retention_ms)
                .arg(self.ttl_ms())
                .arg(hex::encode(commit.fingerprint))
                .arg(&decision)
                .arg(&parts)
                .arg(allowed)
                .arg(amount)
                .arg(usd)
                .arg(commit.keys.asset())
                .arg(&record_prefix)
                .arg(PRUNE_BATCH)
                .arg(super::newest_cap())
                .arg(commit.event_ts())
                .invoke::<Value>(con)
        })?;
        let reply =
            strings(reply).map_err(|e| self.unavailable(format!("bad commit reply: {e}")))?;
        match reply.first().map(String::as_str) {
            Some("ok") => Ok(()),
            Some("lost") => Err(self.unavailable(format!(
                "the locks of `{}` expired before the commit (longer than {} ms); nothing was recorded",
                commit.id,
                self.options.lock_ttl.as_millis()
            ))),
            _ => Err(self.unavailable(format!("bad commit reply {reply:?}"))),
        }
    }

    fn release(&self, id: &str) -> Result<Released, VelocityError> {
        // The record names its keys; a concurrent release and re-decision
        // may change them between the read and the script: read again.
        for _ in 0..8 {
            let Some(recorded) = self.recorded(id)? else {
                return Err(VelocityError::UnknownId(id.to_string()));
            };
            let parts = serde_json::to_string(&recorded.parts)
                .map_err(|e| self.unavailable(format!("cannot encode the key parts: {e}")))?;
            let keys = Keys::from_parts(recorded.parts);
            let mut redis_keys = vec![self.record_key(id)];
            redis_keys.extend(keys.all().map(|k| self.events(k)));
            // Not retried: a second run after a lost reply would say unknown.
            let reply = self.run(Retry::Never, |con| {
                let mut call = self.scripts.release.prepare_invoke();
                for k in &redis_keys {
                    call.key(k);
                }
                call.arg(&parts).invoke::<Value>(con)
            })?;
            let reply =
                strings(reply).map_err(|e| self.unavailable(format!("bad release reply: {e}")))?;
            match reply.first().map(String::as_str) {
                Some("ok") => {
                    return Ok(Released {
                        id: id.to_string(),
                        had_contribution: reply.get(1).is_some_and(|h| h == "1"),
                        requested_at: num(reply.get(2))
                            .map_err(|e| self.unavailable(format!("bad release reply: {e}")))?,
                    });
                }
                Some("unknown") => return Err(VelocityError::UnknownId(id.to_string())),
                Some("moved") => continue,
                _ => return Err(self.unavailable(format!("bad release reply {reply:?}"))),
            }
        }
        Err(self.unavailable(format!(
            "the record of `{id}` kept changing during its release"
        )))
    }

    fn key_stats(&self, key: &str) -> Result<KeyStats, VelocityError> {
        let (events, meta) = (self.events(key), self.meta());
        let reply = self.run(Retry::Once, |con| {
            self.scripts
                .key_stats
                .key(&events)
                .key(&meta)
                .arg(self.options.retention_ms)
                .invoke::<Value>(con)
        })?;
        let parsed = strings(reply).and_then(|r| {
            let events = num(r.first())?;
            if events == 0 {
                return Ok(KeyStats::default());
            }
            Ok(KeyStats {
                events,
                oldest_ts: Some(num(r.get(1))?),
                newest_ts: Some(num(r.get(2))?),
                usd_cents: limbs(r.get(3), r.get(4))?,
            })
        });
        parsed.map_err(|e| self.unavailable(format!("bad key-stats reply: {e}")))
    }
}
