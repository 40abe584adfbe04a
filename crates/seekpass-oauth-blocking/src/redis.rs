//! The shared token in Redis or Valkey, through redis-rs's blocking connection.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use std::path::PathBuf;

use redis::{Client, Connection};
use seekpass_oauth::{StoreAnswer, StoreCommand, StoreError, StoreErrorKind};
use seekpass_oauth_driver::redis::{answer, client, error, pipeline};

use crate::store::Store;

/// A [`Store`] on one Redis (or Valkey) server: `redis://[user:password@]host[:port][/db]`, or
/// `rediss://…` for TLS (the system's trusted CAs). One connection, opened on first use and
/// opened again after a failure; each operation is bounded by its deadline.
///
/// Whoever can read the keys can use the token: give the replicas a Redis user whose ACL allows
/// only the key prefix (`~seekpass-oauth:*`) and the commands `GET PTTL SET DEL EVAL MULTI EXEC` (the script deletes with `DEL`).
pub struct RedisStore {
    client: Client,
    connection: Mutex<Option<Connection>>,
}

impl RedisStore {
    /// A store at `url`. Nothing is connected until the first operation.
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        RedisStore::with_ca_files(url, &[])
    }

    /// A store at a `rediss://` `url` whose certificate is checked against the CA certificates
    /// in `ca_files` (PEM) only: a store behind a private CA.
    pub fn with_ca_files(url: &str, ca_files: &[PathBuf]) -> Result<RedisStore, StoreError> {
        Ok(RedisStore {
            client: client(url, ca_files)?,
            connection: Mutex::new(None),
        })
    }
}

impl Store for RedisStore {
    fn run(&self, command: &StoreCommand, deadline: Instant) -> Result<StoreAnswer, StoreError> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return Err(StoreError::new(StoreErrorKind::Timeout, "no time left"));
        }
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let connection = match slot.as_mut() {
            Some(connection) => connection,
            None => slot.insert(
                self.client
                    .get_connection_with_timeout(timeout)
                    .map_err(|e| error(&e))?,
            ),
        };
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(std::time::Duration::from_millis(1));
        let result = connection
            .set_read_timeout(Some(timeout))
            .and_then(|()| connection.set_write_timeout(Some(timeout)))
            .and_then(|()| pipeline(command).query(connection));
        match result {
            Ok(reply) => answer(command, reply),
            Err(e) => {
                // The connection may be half way through a reply: start afresh next time.
                *slot = None;
                Err(error(&e))
            }
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info holds the password.
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}
