//! Performing one operation on the store replicas share their token through: the only thing the
//! driver needs from a store client.

use std::future::Future;
use std::pin::Pin;

use seekpass_oauth::{StoreAnswer, StoreCommand, StoreError};
use seekpass_oauth_driver::FileStore;

/// The future of one store operation.
pub type StoreFuture<'a> =
    Pin<Box<dyn Future<Output = Result<StoreAnswer, StoreError>> + Send + 'a>>;

/// Performs store operations for a source whose configuration shares its token
/// ([`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share)).
///
/// [`RedisStore`](crate::RedisStore) (feature `redis`) is one; implement it for any store with
/// expiring keys (see [`StoreCommand`] for what each command must do). The driver gives up on the
/// future at the operation's deadline and fetches on its own, so a slow store never delays a
/// token.
pub trait Store: Send + Sync + 'static {
    /// Performs `command`; the store's answer, or why there is none.
    fn run<'a>(&'a self, command: &'a StoreCommand) -> StoreFuture<'a>;
}

/// The processes of one host share through a directory; each operation runs on `blocking`'s
/// thread pool, off the runtime's threads, and waits at most two seconds for another process's
/// ([`FileStore::run`]).
impl Store for FileStore {
    fn run<'a>(&'a self, command: &'a StoreCommand) -> StoreFuture<'a> {
        let (store, command) = (self.clone(), command.clone());
        Box::pin(blocking::unblock(move || FileStore::run(&store, &command)))
    }
}
