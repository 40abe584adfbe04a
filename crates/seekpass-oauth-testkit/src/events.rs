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

    /// How long until an event matching `what` is recorded, calling `poke` every 10 ms
    /// meanwhile (a blocking driver works only when called); `None` if none is within `within`.
    pub fn wait_for(
        &self,
        what: impl Fn(&Event) -> bool,
        within: std::time::Duration,
        mut poke: impl FnMut(),
    ) -> Option<std::time::Duration> {
        let started = std::time::Instant::now();
        while started.elapsed() < within {
            if self.count(&what) > 0 {
                return Some(started.elapsed());
            }
            poke();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        (self.count(&what) > 0).then(|| started.elapsed())
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
