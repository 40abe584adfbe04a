//! Sending one token request: the only thing the driver needs from an HTTP client.

use std::time::Instant;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError};

/// Sends one request and returns its answer, blocking the calling thread.
///
/// Implement it for any HTTP client. Leave redirects and error statuses to the machine (it
/// follows only safe redirects and classifies every status), stop reading the body after
/// `max_body` bytes, and give up at `deadline` with [`TransportErrorKind::Timeout`].
///
/// [`TransportErrorKind::Timeout`]: seekpass_oauth::TransportErrorKind::Timeout
pub trait Sender: Send + Sync + 'static {
    /// Sends `request`; the answer, or why there is none.
    fn send(
        &self,
        request: Request<RequestBody>,
        deadline: Instant,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError>;
}

impl<F> Sender for F
where
    F: Fn(Request<RequestBody>, Instant, usize) -> Result<Response<Vec<u8>>, TransportError>
        + Send
        + Sync
        + 'static,
{
    fn send(
        &self,
        request: Request<RequestBody>,
        deadline: Instant,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        self(request, deadline, max_body)
    }
}
