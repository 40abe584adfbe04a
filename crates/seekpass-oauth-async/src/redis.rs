//! The shared token in Redis or Valkey, through redis-rs's multiplexed async connection (tokio,
//! or smol and async-std: redis-rs finds the runtime it runs on).

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use redis::aio::MultiplexedConnection;
use redis::Client;
use seekpass_oauth::{StoreCommand, StoreError};
use seekpass_oauth_driver::redis::{answer, client, error, pipeline};

use crate::store::{Store, StoreFuture};

/// A [`Store`] on one Redis (or Valkey) server: `redis://[user:password@]host[:port][/db]`, or
/// `rediss://…` for TLS (the system's trusted CAs). One multiplexed connection, opened on first
/// use and opened again after a failure; the driver bounds each operation by its deadline.
///
/// Whoever can read the keys can use the token: give the replicas a Redis user whose ACL allows
/// only the key prefix (`~seekpass-oauth:*`) and the commands `GET PTTL SET DEL EVAL MULTI EXEC`
/// (the script deletes with `DEL`).
pub struct RedisStore {
    client: Client,
    connection: Mutex<Option<MultiplexedConnection>>,
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

    fn cached(&self) -> Option<MultiplexedConnection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, connection: Option<MultiplexedConnection>) {
        *self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = connection;
    }
}

impl Store for RedisStore {
    fn run<'a>(&'a self, command: &'a StoreCommand) -> StoreFuture<'a> {
        Box::pin(async move {
            let mut connection = match self.cached() {
                Some(connection) => connection,
                None => {
                    let connection = self
                        .client
                        .get_multiplexed_async_connection()
                        .await
                        .map_err(|e| error(&e))?;
                    self.keep(Some(connection.clone()));
                    connection
                }
            };
            match pipeline(command).query_async(&mut connection).await {
                Ok(reply) => answer(command, reply),
                Err(e) => {
                    if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                        self.keep(None);
                    }
                    Err(error(&e))
                }
            }
        })
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info holds the password.
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}
