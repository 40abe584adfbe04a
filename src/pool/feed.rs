//! The inputs for one key's machine, passed through: answers, store results, refusals and a
//! new configuration. Each marks the entry to be polled; none changes the entry's state.

use std::hash::{BuildHasher, Hash};

use http::Response;

use crate::config::Config;
use crate::error::{InputError, TransportError};
use crate::ids::{RequestId, StoreId, TokenId};
use crate::machine::TokenClient;
use crate::pool::entries::EntryState;
use crate::pool::TokenPool;
use crate::store::{StoreAnswer, StoreError};
use crate::time::Time;

impl<K: Eq + Hash + Clone, S: BuildHasher> TokenPool<K, S> {
    /// Feeds the answer to `key`'s request `id` (see [`TokenClient::handle_response`]).
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        key: &K,
        id: RequestId,
        response: Response<B>,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        self.feed(key, id, |client| client.handle_response(id, response, now))
    }

    /// Feeds a transport failure of `key`'s request `id` (see
    /// [`TokenClient::handle_transport_error`]).
    pub fn handle_transport_error(
        &mut self,
        key: &K,
        id: RequestId,
        error: TransportError,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        self.feed(key, id, |client| {
            client.handle_transport_error(id, error, now)
        })
    }

    /// Feeds the result of `key`'s store operation `id` (see [`TokenClient::handle_store`]).
    pub fn handle_store(
        &mut self,
        key: &K,
        id: StoreId,
        result: Result<StoreAnswer, StoreError>,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let (slot, client) = self.live(key).ok_or(InputError::NoEntry)?;
        let fed = client.handle_store(id, result, now);
        self.mark_dirty(slot);
        fed
    }

    /// Reports that the API rejected `key`'s `token` (see [`TokenClient::invalidate`]).
    pub fn invalidate(&mut self, key: &K, token: TokenId, now: Time) -> bool {
        let now = self.advance(now);
        let Some((slot, client)) = self.live(key) else {
            return false;
        };
        let taken = client.invalidate(token, now);
        self.mark_dirty(slot);
        taken
    }

    /// Replaces `key`'s configuration (see [`TokenClient::reconfigure`]): a rotated secret,
    /// say. Returns whether the key has a machine to reconfigure.
    pub fn reconfigure(&mut self, key: &K, config: Config, now: Time) -> bool {
        let now = self.advance(now);
        let Some((slot, client)) = self.live(key) else {
            return false;
        };
        client.reconfigure(config, now);
        self.mark_dirty(slot);
        true
    }

    /// `key`'s machine and slot, if it has one.
    fn live(&mut self, key: &K) -> Option<(usize, &mut TokenClient)> {
        let slot = self.entries.slot(key)?;
        match &mut self.entries.get_mut(slot)?.state {
            EntryState::Live(client) => Some((slot, client)),
            EntryState::Resolving { .. } | EntryState::Unknown { .. } => None,
        }
    }

    /// Feeds an answer to `key`'s request `id` through `feed`; an answer for a dropped entry's
    /// request ends its count as in flight.
    fn feed(
        &mut self,
        key: &K,
        id: RequestId,
        feed: impl FnOnce(&mut TokenClient) -> Result<(), InputError>,
    ) -> Result<(), InputError> {
        let fed = match self.live(key) {
            Some((slot, client)) => {
                let fed = feed(client);
                self.mark_dirty(slot);
                fed
            }
            None => Err(InputError::NoEntry),
        };
        if fed.is_err() && self.admission.answered_orphan(key, id) {
            return Err(InputError::StaleRequest(id));
        }
        fed
    }
}
