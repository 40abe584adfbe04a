//! Collecting a driver's events from whatever thread or task reports them.

use std::sync::{Arc, Mutex};

use seekpass_oauth::Event;

/// Every event reported to [`Events::handler`], in order. Clones share one list.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<Event>>>);

impl Events {
    /// An empty list.
    #[must_use]
    pub fn new() -> Events {
        Events::default()
    }

    /// A handler for a driver's `on_event` that records into this list.
    pub fn handler(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event| lock(&events).push(event.clone())
    }

    /// How many recorded events match `what`.
    pub fn count(&self, what: impl Fn(&Event) -> bool) -> usize {
        lock(&self.0).iter().filter(|e| what(e)).count()
    }

    /// A copy of every event so far.
    #[must_use]
    pub fn all(&self) -> Vec<Event> {
        lock(&self.0).clone()
    }
}

fn lock(events: &Mutex<Vec<Event>>) -> std::sync::MutexGuard<'_, Vec<Event>> {
    events
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
