//! The store operations a sharing machine asks for, and their results.
//!
//! [`Output::Store`](crate::Output::Store) hands the driver a [`StoreOp`]; the driver performs it on
//! its store within [`StoreOp::deadline`] and feeds the outcome to
//! [`TokenClient::handle_store`](crate::TokenClient::handle_store). The commands are the few
//! primitives any store with expiring keys offers; for Redis:
//!
//! | command | Redis | answer |
//! |---|---|---|
//! | [`StoreCommand::Read`] | `MULTI` `GET key` `PTTL key` `EXEC` | [`StoreAnswer::Found`] with the value and `PTTL`, or [`StoreAnswer::Missing`] |
//! | [`StoreCommand::Lock`] | `SET key owner NX PX ttl` | [`StoreAnswer::Done`] if set, [`StoreAnswer::Refused`] if the key exists |
//! | [`StoreCommand::Write`] | `SET key value PX ttl` | [`StoreAnswer::Done`] |
//! | [`StoreCommand::Unlock`], [`StoreCommand::Forget`] | `EVAL "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end" 1 key value` | [`StoreAnswer::Done`] if deleted, [`StoreAnswer::Refused`] otherwise |

use core::fmt;
use core::time::Duration;

use zeroize::Zeroize;

use crate::ids::StoreId;
use crate::redact::scrub_urls;
use crate::time::Time;

/// Bytes kept in or compared with the store. A stored token holds the access token, so the bytes
/// are a secret: `Debug` shows only their length, and they are wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredValue(Vec<u8>);

impl StoredValue {
    /// Wraps bytes read from the store (they are wiped when this is dropped).
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> StoredValue {
        StoredValue(bytes)
    }

    /// The bytes, to send to the store.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for StoredValue {
    fn from(bytes: Vec<u8>) -> StoredValue {
        StoredValue(bytes)
    }
}

impl Drop for StoredValue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoredValue([redacted], {} bytes)", self.0.len())
    }
}

/// What to do on the store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreCommand {
    /// Read `key`'s value and its remaining time to live in one round trip (Redis: `GET` and
    /// `PTTL` inside `MULTI`/`EXEC`).
    Read {
        /// The token key.
        key: String,
    },
    /// Set `key` to `owner` only if `key` does not exist, expiring after `ttl` (Redis:
    /// `SET key owner NX PX ttl`).
    Lock {
        /// The lock key.
        key: String,
        /// This replica's mark on the lock, unique to this attempt.
        owner: String,
        /// The lock's expiry: the token request's deadline, so a holder that dies frees it.
        ttl: Duration,
    },
    /// Set `key` to `value`, expiring after `ttl` (Redis: `SET key value PX ttl`).
    Write {
        /// The token key.
        key: String,
        /// The stored token.
        value: StoredValue,
        /// What is left of the token's lifetime, less the operation's deadline.
        ttl: Duration,
    },
    /// Delete `key` only if it still holds `owner`: release a lock this replica holds, never
    /// another's (Redis: compare-and-delete in `EVAL`).
    Unlock {
        /// The lock key.
        key: String,
        /// The owner mark set by [`StoreCommand::Lock`].
        owner: String,
    },
    /// Delete `key` only if it still holds `value`: forget a token the API rejected, never the
    /// replacement another replica already stored (Redis: compare-and-delete in `EVAL`).
    Forget {
        /// The token key.
        key: String,
        /// The rejected token's stored value.
        value: StoredValue,
    },
}

impl StoreCommand {
    /// The command's name: `read`, `lock`, `write`, `unlock` or `forget`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            StoreCommand::Read { .. } => "read",
            StoreCommand::Lock { .. } => "lock",
            StoreCommand::Write { .. } => "write",
            StoreCommand::Unlock { .. } => "unlock",
            StoreCommand::Forget { .. } => "forget",
        }
    }

    /// The key the command is about.
    #[must_use]
    pub fn key(&self) -> &str {
        match self {
            StoreCommand::Read { key }
            | StoreCommand::Lock { key, .. }
            | StoreCommand::Write { key, .. }
            | StoreCommand::Unlock { key, .. }
            | StoreCommand::Forget { key, .. } => key,
        }
    }
}

/// A store operation for the caller to perform, from [`Output::Store`](crate::Output::Store).
#[derive(Debug)]
#[must_use = "a store operation must be performed and its result fed back"]
pub struct StoreOp {
    pub(crate) id: StoreId,
    pub(crate) deadline: Time,
    pub(crate) command: StoreCommand,
}

impl StoreOp {
    /// The id to give back with the result.
    #[must_use]
    pub fn id(&self) -> StoreId {
        self.id
    }

    /// When the machine counts the operation as failed if no result has been fed: give the
    /// store client a timeout that ends no later.
    #[must_use]
    pub fn deadline(&self) -> Time {
        self.deadline
    }

    /// What to do.
    #[must_use]
    pub fn command(&self) -> &StoreCommand {
        &self.command
    }

    /// The id and the command.
    #[must_use]
    pub fn into_parts(self) -> (StoreId, StoreCommand) {
        (self.id, self.command)
    }
}

/// The result of a store operation that reached the store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreAnswer {
    /// [`StoreCommand::Read`]: the key holds `value`, which expires in `ttl` (`None` when the key
    /// has no expiry, which this protocol never sets; such a value is not used).
    Found {
        /// The stored bytes.
        value: StoredValue,
        /// The remaining time to live, as the store measured it (Redis `PTTL`).
        ttl: Option<Duration>,
    },
    /// [`StoreCommand::Read`]: no such key.
    Missing,
    /// The lock was taken, the value written, or the key deleted.
    Done,
    /// The lock is held by someone else, or the key did not hold the value to delete.
    Refused,
}

/// Why a store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// No result before the deadline.
    Timeout,
    /// The store could not be reached: refused, reset, DNS, TLS, or it is loading or read-only.
    Unavailable,
    /// The store refused the credentials or the ACL forbids a command or key.
    Denied,
    /// The store answered something this protocol does not expect.
    Protocol,
}

/// A store operation that failed. The machine then fetches on its own and leaves the store alone
/// for a back-off; the message is shown redacted in [`Event::StoreFailed`](crate::Event::StoreFailed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    /// A failure of `kind`, described by `message` (the store client's own words). A URL the
    /// message quotes is shown without its user information (a store password) and query.
    #[must_use]
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            message: scrub_urls(&message.into()),
        }
    }

    /// What kind of failure it was.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The store client's description.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn with_message(mut self, message: String) -> StoreError {
        self.message = message;
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Timeout => "the store did not answer in time",
            StoreErrorKind::Unavailable => "the store is unavailable",
            StoreErrorKind::Denied => {
                "the store refused the credentials or command: check the user, password and ACL in the store URL"
            }
            StoreErrorKind::Protocol => "the store answered something unexpected",
        };
        if self.message.is_empty() {
            f.write_str(what)
        } else {
            write!(f, "{what} ({})", self.message)
        }
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_and_print() {
        assert_eq!(StoreId(7).get(), 7);
        assert_eq!(StoreId(7).to_string(), "store operation #7");
    }

    #[test]
    fn stored_values_show_only_their_length() {
        let value = StoredValue::from(b"{\"access_token\":\"tok-secret\"}".to_vec());
        let shown = format!("{value:?}");
        assert_eq!(shown, "StoredValue([redacted], 29 bytes)");
        assert_eq!(value.as_bytes().len(), 29);
    }

    #[test]
    fn commands_name_themselves_and_their_key() {
        let value = || StoredValue::new(b"v".to_vec());
        let ttl = Duration::from_secs(1);
        let commands = [
            StoreCommand::Read { key: "k1".into() },
            StoreCommand::Lock {
                key: "k2".into(),
                owner: "o".into(),
                ttl,
            },
            StoreCommand::Write {
                key: "k3".into(),
                value: value(),
                ttl,
            },
            StoreCommand::Unlock {
                key: "k4".into(),
                owner: "o".into(),
            },
            StoreCommand::Forget {
                key: "k5".into(),
                value: value(),
            },
        ];
        let named: Vec<_> = commands.iter().map(|c| (c.name(), c.key())).collect();
        assert_eq!(
            named,
            [
                ("read", "k1"),
                ("lock", "k2"),
                ("write", "k3"),
                ("unlock", "k4"),
                ("forget", "k5")
            ]
        );
    }

    #[test]
    fn errors_say_what_failed_and_what_to_check() {
        let shown = |kind, message: &str| StoreError::new(kind, message).to_string();
        assert_eq!(
            shown(StoreErrorKind::Timeout, ""),
            "the store did not answer in time"
        );
        assert_eq!(
            shown(StoreErrorKind::Unavailable, "Connection refused"),
            "the store is unavailable (Connection refused)"
        );
        assert!(shown(StoreErrorKind::Denied, "WRONGPASS")
            .contains("check the user, password and ACL in the store URL"));
        assert!(shown(StoreErrorKind::Protocol, "x").starts_with("the store answered something"));
        let error = StoreError::new(StoreErrorKind::Denied, "NOPERM");
        assert_eq!(
            (error.kind(), error.message()),
            (StoreErrorKind::Denied, "NOPERM")
        );
    }
}
