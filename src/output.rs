//! What the machine asks its driver to do next.

use crate::event::Event;
use crate::request::Transmit;
use crate::store::StoreOp;
use crate::time::Time;

/// The answer of [`TokenClient::poll`](crate::TokenClient::poll). Poll until it returns
/// [`Output::Timeout`] or [`Output::Idle`].
#[derive(Debug)]
#[must_use = "a Transmit must be sent, and a Timeout must be honoured"]
pub enum Output {
    /// Send this request and feed its answer (or failure) back.
    Transmit(Transmit),
    /// Perform this operation on the shared store and feed its result back (only with
    /// [`ConfigBuilder::share`](crate::ConfigBuilder::share)).
    Store(StoreOp),
    /// Something happened worth logging or counting.
    Event(Event),
    /// Nothing to do before this moment (always later than the `now` polled with): poll again
    /// then, or earlier if something is fed in or
    /// [`TokenClient::poll_needed`](crate::TokenClient::poll_needed) says so.
    Timeout(Time),
    /// Nothing to do until something is fed in or a token is asked for.
    Idle,
}
