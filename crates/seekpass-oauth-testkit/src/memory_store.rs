//! An in-memory store with expiring keys, on the simulated clock: what Redis does for the
//! commands the token machine sends, and nothing else. Shared by `examples/fleet` and the tests.

use std::collections::HashMap;
use std::time::Duration;

use seekpass_oauth::{StoreAnswer, StoreCommand, StoredValue, Time};

/// Keys, their values and when they expire.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: HashMap<String, (Vec<u8>, Time)>,
    /// Commands applied, by name.
    pub applied: HashMap<&'static str, u64>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Applies `command` at `now`, as the store would.
    pub fn apply(&mut self, command: &StoreCommand, now: Time) -> StoreAnswer {
        self.keys.retain(|_, (_, expires)| *expires > now);
        *self.applied.entry(command.name()).or_default() += 1;
        let expiring = |ttl: Duration| now.saturating_add(ttl);
        match command {
            StoreCommand::Read { key } => match self.keys.get(key) {
                Some((value, expires)) => StoreAnswer::Found {
                    value: StoredValue::new(value.clone()),
                    ttl: Some(expires.saturating_duration_since(now)),
                },
                None => StoreAnswer::Missing,
            },
            StoreCommand::Lock { key, owner, ttl } => {
                if self.keys.contains_key(key) {
                    StoreAnswer::Refused
                } else {
                    self.keys
                        .insert(key.clone(), (owner.as_bytes().to_vec(), expiring(*ttl)));
                    StoreAnswer::Done
                }
            }
            StoreCommand::Write { key, value, ttl } => {
                self.keys
                    .insert(key.clone(), (value.as_bytes().to_vec(), expiring(*ttl)));
                StoreAnswer::Done
            }
            StoreCommand::Unlock { key, owner } => self.delete_if(key, owner.as_bytes()),
            StoreCommand::Forget { key, value } => self.delete_if(key, value.as_bytes()),
            other => panic!("a command this store does not know: {other:?}"),
        }
    }

    fn delete_if(&mut self, key: &str, expected: &[u8]) -> StoreAnswer {
        if self.keys.get(key).is_some_and(|(v, _)| v == expected) {
            self.keys.remove(key);
            StoreAnswer::Done
        } else {
            StoreAnswer::Refused
        }
    }

    /// Loses everything, as a restart without persistence does.
    pub fn restart(&mut self) {
        self.keys.clear();
    }

    /// Removes `key` (a lock whose holder vanished, say, once it has expired).
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// The keys held at `now`.
    pub fn keys(&self, now: Time) -> Vec<&str> {
        self.keys
            .iter()
            .filter(|(_, (_, e))| *e > now)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}
