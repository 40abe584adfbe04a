//! The store protocol's commands in Redis (and Valkey), and what Redis's answers mean. The
//! drivers' Redis stores send these over their own connections, blocking or async.
//!
//! | command | Redis |
//! |---|---|
//! | read | `MULTI` `GET key` `PTTL key` `EXEC`: the value and its expiry in one round trip |
//! | lock | `SET key owner NX PX ttl` |
//! | write | `SET key value PX ttl` |
//! | unlock, forget | [`COMPARE_AND_DELETE`] through `EVAL` (Redis 7 has no native compare-and-delete) |

use std::path::PathBuf;
use std::time::Duration;

use redis::{Client, ErrorKind, IntoConnectionInfo, RedisError, ServerErrorKind, Value};
use seekpass_oauth::{StoreAnswer, StoreCommand, StoreError, StoreErrorKind, StoredValue};

/// Deletes `KEYS[1]` only if it holds `ARGV[1]`; returns 1 if it did.
pub const COMPARE_AND_DELETE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// Milliseconds for `PX`: at least 1, as Redis refuses 0.
fn px(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The pipeline that performs `command` (a transaction for a read).
#[must_use]
pub fn pipeline(command: &StoreCommand) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    match command {
        StoreCommand::Read { key } => {
            pipe.atomic().cmd("GET").arg(key).cmd("PTTL").arg(key);
        }
        StoreCommand::Lock { key, owner, ttl } => {
            pipe.cmd("SET")
                .arg(key)
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(px(*ttl));
        }
        StoreCommand::Write { key, value, ttl } => {
            pipe.cmd("SET")
                .arg(key)
                .arg(value.as_bytes())
                .arg("PX")
                .arg(px(*ttl));
        }
        StoreCommand::Unlock { key, owner } => {
            pipe.cmd("EVAL")
                .arg(COMPARE_AND_DELETE)
                .arg(1)
                .arg(key)
                .arg(owner);
        }
        StoreCommand::Forget { key, value } => {
            pipe.cmd("EVAL")
                .arg(COMPARE_AND_DELETE)
                .arg(1)
                .arg(key)
                .arg(value.as_bytes());
        }
        // A command this version does not know: an empty pipeline, which `answer` refuses.
        _ => {}
    }
    pipe
}

/// What Redis's reply to [`pipeline`]`(command)` means.
pub fn answer(command: &StoreCommand, reply: Value) -> Result<StoreAnswer, StoreError> {
    let unexpected = |reply: &Value| {
        StoreError::new(
            StoreErrorKind::Protocol,
            format!("{} answered with {}", command.name(), shape(reply)),
        )
    };
    let mut items = match reply {
        Value::Array(items) => items,
        other => return Err(unexpected(&other)),
    };
    match command {
        StoreCommand::Read { .. } => {
            // The transaction's replies: GET's and PTTL's.
            if items.len() != 2 {
                return Err(unexpected(&Value::Array(items)));
            }
            let pttl = match items.pop() {
                Some(Value::Int(ms)) => ms,
                other => return Err(unexpected(&other.unwrap_or(Value::Nil))),
            };
            match (items.pop(), pttl) {
                (Some(Value::Nil), _) | (_, -2) => Ok(StoreAnswer::Missing),
                (Some(Value::BulkString(bytes)), ms) => Ok(StoreAnswer::Found {
                    value: StoredValue::new(bytes),
                    ttl: u64::try_from(ms).ok().map(Duration::from_millis),
                }),
                (other, _) => Err(unexpected(&other.unwrap_or(Value::Nil))),
            }
        }
        _ => match items.as_slice() {
            [Value::Okay] | [Value::Int(1)] => Ok(StoreAnswer::Done),
            // redis-rs reads a `+OK` as `Value::Okay`, never as a simple string.
            [Value::Nil] | [Value::Int(0)] => Ok(StoreAnswer::Refused),
            _ => Err(unexpected(&Value::Array(items))),
        },
    }
}

/// A reply's shape, never its content (a value may hold a token).
fn shape(reply: &Value) -> String {
    match reply {
        Value::Nil => "nil".into(),
        Value::Int(_) => "an integer".into(),
        Value::BulkString(b) => format!("a {}-byte string", b.len()),
        Value::Array(items) => format!("an array of {}", items.len()),
        Value::Okay => "OK".into(),
        _ => "another type".into(),
    }
}

/// Names a Redis client error as the store protocol does. The message is the client's own:
/// Redis error messages quote no arguments, so no value appears in them.
#[must_use]
pub fn error(e: &RedisError) -> StoreError {
    let kind = if e.is_timeout() {
        StoreErrorKind::Timeout
    } else if matches!(e.kind(), ErrorKind::AuthenticationFailed)
        || matches!(
            e.kind(),
            ErrorKind::Server(ServerErrorKind::NoPerm)
        )
        || e.code().is_some_and(|c| c == "NOPERM" || c == "NOAUTH" || c == "WRONGPASS")
        // A pipeline's or a script's refusal arrives wrapped, named only in its text.
        || denied_text(&e.to_string())
    {
        StoreErrorKind::Denied
    } else if e.is_io_error()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.code()
            .is_some_and(|c| c == "LOADING" || c == "READONLY" || c == "MASTERDOWN")
    {
        StoreErrorKind::Unavailable
    } else {
        StoreErrorKind::Protocol
    };
    StoreError::new(kind, e.to_string())
}

/// Makes sure rustls has a process-wide provider for `rediss://`, which redis-rs builds its TLS
/// configuration with: installs *ring* if none is installed (a program that installed its own
/// keeps it).
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine: one provider is in place either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn denied_text(text: &str) -> bool {
    [
        "NOPERM",
        "no permissions",
        "can't run this command",
        "WRONGPASS",
        "NOAUTH",
    ]
    .iter()
    .any(|mark| text.contains(mark))
}

/// The client for `url`: `redis://[user:password@]host[:port][/db]`, or `rediss://…` for TLS,
/// trusting the system's CAs, or only the CA certificates in `ca_files` (PEM) when there are
/// any (a store behind a private CA). Nothing is connected yet.
pub fn client(url: &str, ca_files: &[PathBuf]) -> Result<Client, StoreError> {
    let info = url.into_connection_info().map_err(|e| bad_url(&e))?;
    ensure_crypto_provider();
    if ca_files.is_empty() {
        return Client::open(info).map_err(|e| bad_url(&e));
    }
    let mut roots = Vec::new();
    for file in ca_files {
        let pem = std::fs::read(file).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Denied,
                format!("cannot read the CA file {}: {e}", file.display()),
            )
        })?;
        roots.extend_from_slice(&pem);
        roots.push(b'\n');
    }
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(roots),
    };
    Client::build_with_tls(info, certificates).map_err(|e| bad_url(&e))
}

/// A store error for a URL that cannot be used.
#[must_use]
pub fn bad_url(e: &RedisError) -> StoreError {
    StoreError::new(
        StoreErrorKind::Denied,
        format!("the store URL cannot be used ({e}): redis://[user:password@]host[:port][/db] or rediss:// for TLS"),
    )
}

#[cfg(test)]
mod tests {
    use seekpass_oauth::{StoreAnswer, StoreCommand, StoreErrorKind};

    use super::{answer, error, Value};

    fn read() -> StoreCommand {
        StoreCommand::Read { key: "k".into() }
    }

    #[test]
    fn an_unexpected_reply_is_described_by_its_shape_never_its_content() {
        let token = b"secret-token-value".to_vec();
        let cases = [
            (Value::Nil, "nil"),
            (Value::Int(7), "an integer"),
            (Value::BulkString(token.clone()), "a 18-byte string"),
            (Value::Okay, "OK"),
            (Value::Boolean(true), "another type"),
            (
                Value::Array(vec![Value::BulkString(token.clone())]),
                "an array of 1",
            ),
        ];
        for (reply, shape) in cases {
            let error = answer(&read(), reply).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::Protocol);
            let text = error.to_string();
            assert!(text.contains(shape), "{text}");
            assert!(!text.contains("secret-token"), "{text}");
        }
        // Inside a transaction's replies, the element refused is described the same way.
        let reply = Value::Array(vec![Value::BulkString(token), Value::Nil]);
        let text = answer(&read(), reply).unwrap_err().to_string();
        assert!(text.contains("nil"), "{text}");
    }

    #[test]
    fn a_read_of_a_missing_or_expired_key_is_missing() {
        for reply in [
            Value::Array(vec![Value::Nil, Value::Int(-2)]),
            Value::Array(vec![Value::BulkString(b"v".to_vec()), Value::Int(-2)]),
        ] {
            assert!(matches!(answer(&read(), reply), Ok(StoreAnswer::Missing)));
        }
    }

    /// The client error a server's `-…` reply becomes.
    fn server_error(reply: &str) -> redis::RedisError {
        match redis::parse_redis_value(format!("-{reply}\r\n").as_bytes()) {
            Ok(Value::ServerError(e)) => e.into(),
            other => panic!("not a server error: {other:?}"),
        }
    }

    #[test]
    fn each_client_error_is_named_as_the_store_protocol_names_it() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let cases: Vec<(redis::RedisError, StoreErrorKind)> = vec![
            (IoError::from(Io::TimedOut).into(), StoreErrorKind::Timeout),
            (
                (redis::ErrorKind::AuthenticationFailed, "refused").into(),
                StoreErrorKind::Denied,
            ),
            (
                server_error("NOPERM User seekpass has no permissions to run the 'keys' command"),
                StoreErrorKind::Denied,
            ),
            (
                server_error("WRONGPASS invalid username-password pair or user is disabled."),
                StoreErrorKind::Denied,
            ),
            (server_error("NOAUTH Authentication required."), StoreErrorKind::Denied),
            (IoError::from(Io::ConnectionRefused).into(), StoreErrorKind::Unavailable),
            (IoError::from(Io::ConnectionReset).into(), StoreErrorKind::Unavailable),
            (
                server_error("LOADING Redis is loading the dataset in memory"),
                StoreErrorKind::Unavailable,
            ),
            (
                server_error("READONLY You can't write against a read only replica."),
                StoreErrorKind::Unavailable,
            ),
            (
                server_error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
                StoreErrorKind::Unavailable,
            ),
            (server_error("ERR unknown command 'X'"), StoreErrorKind::Protocol),
        ];
        for (e, kind) in cases {
            assert_eq!(error(&e).kind(), kind, "{e}");
        }
    }
}
