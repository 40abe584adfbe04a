//! Performing one operation on the store replicas share their token through: the only thing the
//! driver needs from a store client.

use std::time::Instant;

use seekpass_oauth::{StoreAnswer, StoreCommand, StoreError};
use seekpass_oauth_driver::FileStore;

/// Performs store operations for a source whose configuration shares its token
/// ([`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share)), blocking the calling thread.
///
/// [`RedisStore`](crate::RedisStore) (feature `redis`) is one, and [`FileStore`] for the
/// processes of one host; implement it for any store with
/// expiring keys (see [`StoreCommand`] for what each command must do). Give up at `deadline`
/// with [`StoreErrorKind::Timeout`](seekpass_oauth::StoreErrorKind::Timeout): the machine then
/// fetches on its own, so a slow store never delays a token.
pub trait Store: Send + Sync + 'static {
    /// Performs `command`; the store's answer, or why there is none.
    fn run(&self, command: &StoreCommand, deadline: Instant) -> Result<StoreAnswer, StoreError>;
}

/// The processes of one host share through a directory; an operation waits for another
/// process's until `deadline` at most.
impl Store for FileStore {
    fn run(&self, command: &StoreCommand, deadline: Instant) -> Result<StoreAnswer, StoreError> {
        FileStore::run_until(self, command, deadline)
    }
}
