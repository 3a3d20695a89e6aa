//! The Redis state store, writing what Dapr's `state.redis` component writes: a hash at the (prefixed) key with
//! `data` (the value's JSON text) and `version` (the ETag, bumped by every write), so `redis-cli HGETALL
//! "order-processor||1"` shows what daprd would have stored.
//!
//! The connection is made lazily (the sidecar starts while Redis is down), and every call is timed as daprd's
//! Redis client times it (`go_redis.rs`): a stopped Redis fails within about 1.5s, a paused one within 7s,
//! which the resiliency policy then retries.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::body::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::go_redis::{self, Attempt, RedisTimings};
use super::{Item, StateStore, StoreError, StoreFuture, Write};

/// Writes when there is no version yet, or the given ETag is the current version, or no ETag was given
/// ("0") and the key was not written first-write. ARGV: etag or "0", data, "1" for first-write.
const SET_SCRIPT: &str = r#"
local version = redis.pcall("HGET", KEYS[1], "version")
if type(version) == "table" then redis.call("DEL", KEYS[1]); version = false end
local first = redis.pcall("HGET", KEYS[1], "first-write")
if not version or version == ARGV[1] or (not first and ARGV[1] == "0") then
  redis.call("HSET", KEYS[1], "data", ARGV[2])
  if ARGV[3] == "1" then redis.call("HSET", KEYS[1], "first-write", 0) end
  return redis.call("HINCRBY", KEYS[1], "version", 1)
end
return redis.error_reply("failed to set key " .. KEYS[1])
"#;

/// The script of every save, as the store runs it (the bench sends it to Redis directly to compare).
pub fn set_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(SET_SCRIPT))
}

/// Deletes when there is no version, the ETag matches, or no ETag was given ("0").
const DELETE_SCRIPT: &str = r#"
local version = redis.pcall("HGET", KEYS[1], "version")
if not version or type(version) == "table" or version == ARGV[1] or ARGV[1] == "0" then
  return redis.call("DEL", KEYS[1])
end
return redis.error_reply("failed to delete " .. KEYS[1])
"#;

/// `redisHost` as Dapr writes it: `host:port` (`[::1]:6379` for IPv6); the port defaults to 6379.
fn host_and_port(redis_host: &str) -> Result<(String, u16), StoreError> {
    let bad = |why: &str| {
        StoreError::Unavailable(format!(
            "redisHost `{redis_host}` {why}; write it as host:port, e.g. localhost:6379"
        ))
    };
    let (host, port) = match redis_host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => (h, p.parse().map_err(|_| bad("has no valid port"))?),
        _ => (redis_host, 6379),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("names no host"));
    }
    Ok((host.to_string(), port))
}

pub struct RedisStore {
    connection: ConnectionManager,
    set: redis::Script,
    delete: redis::Script,
    timings: RedisTimings,
    /// Whether a connection has answered since the last failure (go-redis's pool holds one).
    in_use: AtomicBool,
}

impl RedisStore {
    /// `host` is `redisHost` (`localhost:6379`); `password` is `redisPassword` (empty means none); the
    /// client's timings are those of a component with no timing metadata.
    pub fn new(host: &str, password: Option<&str>) -> Result<Self, StoreError> {
        Self::with_timings(host, password, RedisTimings::default())
    }

    /// As [`RedisStore::new`], timed as the component's metadata says ([`RedisTimings::from_metadata`]).
    /// Nothing is connected until the first call.
    pub fn with_timings(host: &str, password: Option<&str>, timings: RedisTimings) -> Result<Self, StoreError> {
        // Built from parts, not a URL: a password may hold `/`, `#` or `@`.
        let (name, port) = host_and_port(host)?;
        let mut settings = redis::RedisConnectionInfo::default();
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            settings = settings.set_password(password);
        }
        let info = redis::IntoConnectionInfo::into_connection_info((name, port))
            .map_err(|e| StoreError::Unavailable(format!("invalid redisHost {host}: {e}")))?
            .set_redis_settings(settings);
        let client =
            redis::Client::open(info).map_err(|e| StoreError::Unavailable(format!("invalid redisHost {host}: {e}")))?;
        // Reads are timed by `go_redis::process`, not by the connection manager.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timings.dial_timeout)
            .set_response_timeout(None)
            .set_number_of_retries(0)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(10));
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|e| StoreError::Unavailable(format!("cannot set up the Redis client for {host}: {e}")))?;
        Ok(Self {
            connection,
            set: redis::Script::new(SET_SCRIPT),
            delete: redis::Script::new(DELETE_SCRIPT),
            timings,
            in_use: AtomicBool::new(false),
        })
    }
}

impl RedisStore {
    /// One Redis call, timed and retried as daprd's client does it (`go_redis::process`); an explicit
    /// `readTimeout` also bounds the whole call, as contrib's context deadline does.
    async fn bounded<T, F, Fut>(&self, mut call: F) -> Result<T, redis::RedisError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let timed_out = || {
            let limit = self.timings.read_timeout.map(crate::duration::format_go_duration);
            io_error(format!(
                "i/o timeout (no answer from Redis within {})",
                limit.unwrap_or_default()
            ))
        };
        let attempt = || {
            let done = call(self.connection.clone());
            async move {
                match done.await {
                    Err(e) if is_unreachable(&e) => Attempt::Unreachable(e),
                    done => Attempt::Done(done),
                }
            }
        };
        let process = go_redis::process(&self.timings, &self.in_use, attempt, timed_out);
        match self.timings.call_deadline {
            None => process.await,
            Some(deadline) => tokio::time::timeout(deadline, process)
                .await
                .unwrap_or_else(|_| Err(io_error("context deadline exceeded".into()))),
        }
    }
}

fn io_error(text: String) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, text))
}

/// Redis could not be reached (as opposed to Redis answering with an error).
fn is_unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal()
}

fn is_script_refusal(e: &redis::RedisError) -> bool {
    let text = e.to_string();
    text.contains("failed") && (text.contains("set key") || text.contains("delete"))
}

/// Redis refused the component's `redisPassword` (or wants one it was not given).
fn is_refused_login(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed || e.to_string().contains("NOAUTH")
}

fn unavailable(e: redis::RedisError) -> StoreError {
    if is_refused_login(&e) {
        return StoreError::Unavailable(format!(
            "Redis refused the login ({e}); check redisPassword in the component's metadata (leave it empty when Redis has no password)"
        ));
    }
    StoreError::Unavailable(e.to_string())
}

/// Redis's ETags are version numbers; none (or `""`) is "0" (contrib `parseETag`).
fn check_etag(etag: Option<&str>) -> Result<String, StoreError> {
    Ok(super::version_etag(etag)?.unwrap_or(0).to_string())
}

/// An error as go-redis prints it: a script's `error_reply` verbatim (redis-rs splits off its first word as
/// a code, `failed: to set key …`).
fn go_redis_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => e.to_string(),
    }
}

impl RedisStore {
    async fn run_script(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<(), redis::RedisError> {
        self.bounded(|mut c| async move { invocation.invoke_async::<i64>(&mut c).await })
            .await
            .map(|_| ())
    }
}

impl StateStore for RedisStore {
    fn encoder(&self) -> crate::state::json::GoEncoder {
        crate::state::json::GoEncoder::JsoniterFastest
    }

    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        Box::pin(async move {
            let mut hgetall = redis::cmd("HGETALL");
            hgetall.arg(key);
            let cmd = &hgetall;
            let fields: HashMap<String, Vec<u8>> = self
                .bounded(|mut c| async move { cmd.query_async(&mut c).await })
                .await
                .map_err(unavailable)?;
            let Some(data) = fields.get("data") else {
                return Ok(None);
            };
            let etag = fields
                .get("version")
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            Ok(Some(Item {
                data: Bytes::copy_from_slice(data),
                etag,
            }))
        })
    }

    fn set<'a>(&'a self, key: &'a str, data: Bytes, etag: Option<&'a str>, first_write: bool) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let given = check_etag(etag)?;
            let mut invocation = self.set.key(key);
            invocation
                .arg(&given)
                .arg(data.as_ref())
                .arg(if first_write { "1" } else { "0" });
            match self.run_script(&invocation).await {
                Ok(()) => Ok(()),
                // components-contrib `state/redis/redis.go Set`: with an ETag, every error (Redis down
                // included) is an ETag mismatch, so the save is not retried.
                Err(e) if etag.is_some() && !is_refused_login(&e) => Err(StoreError::EtagMismatch(go_redis_text(&e))),
                Err(e) if is_script_refusal(&e) => Err(StoreError::EtagMismatch(go_redis_text(&e))),
                Err(e) => Err(unavailable(e)),
            }
        })
    }

    fn multi<'a>(&'a self, writes: &'a [Write]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // components-contrib `state/redis/redis.go Multi`: the ETags are read first (an invalid one ends it
            // before anything is sent), then every script is queued in MULTI/EXEC, which runs them all even
            // after one fails; the first failure is the answer, as go-redis's `Exec` returns it.
            let mut pipe = redis::pipe();
            pipe.atomic().ignore_errors();
            for write in writes {
                match write {
                    Write::Set { key, data, etag } => {
                        let version = check_etag(etag.as_deref())?;
                        pipe.cmd("EVAL")
                            .arg(SET_SCRIPT)
                            .arg(1)
                            .arg(key)
                            .arg(version)
                            .arg(data.as_ref())
                            .arg("0");
                    }
                    Write::Delete { key, etag } => {
                        pipe.cmd("EVAL")
                            .arg(DELETE_SCRIPT)
                            .arg(1)
                            .arg(key)
                            .arg(etag.as_deref().unwrap_or("0"));
                    }
                }
            }
            let pipe = &pipe;
            let results: Vec<redis::RedisResult<redis::Value>> = self
                .bounded(|mut c| async move { pipe.query_async(&mut c).await })
                .await
                .map_err(unavailable)?;
            match results.into_iter().find_map(Result::err) {
                None => Ok(()),
                Some(e) => Err(StoreError::Unavailable(go_redis_text(&e))),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str, etag: Option<&'a str>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            // components-contrib `Delete`: the ETag is not parsed (a non-numeric one simply never matches), and
            // every error, Redis down included, is an ETag mismatch (409).
            let mut invocation = self.delete.key(key);
            invocation.arg(etag.unwrap_or("0"));
            match self.run_script(&invocation).await {
                Ok(()) => Ok(()),
                Err(e) if is_refused_login(&e) => Err(unavailable(e)),
                Err(e) => Err(StoreError::EtagMismatch(go_redis_text(&e))),
            }
        })
    }
}

#[cfg(test)]
mod host_tests {
    use super::host_and_port;

    #[test]
    fn redis_host_is_split_as_dapr_writes_it() {
        assert_eq!(host_and_port("localhost:6380").unwrap(), ("localhost".into(), 6380));
        assert_eq!(host_and_port("redis").unwrap(), ("redis".into(), 6379));
        assert_eq!(host_and_port("[::1]:6379").unwrap(), ("::1".into(), 6379));
        for bad in ["localhost:port", ":6379"] {
            let e = host_and_port(bad).unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("host:port"), "{e}");
        }
    }
}
