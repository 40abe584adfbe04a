//! Sending one token request: the only thing the driver needs from an HTTP client.

use std::future::Future;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError};

/// Sends one request and returns its answer.
///
/// Implement it for any async HTTP client. Leave redirects and error statuses to the machine
/// (it follows only safe redirects and classifies every status) and stop reading the body after
/// `max_body` bytes. The driver gives up on the future at the request's deadline, so it need not
/// time itself out.
pub trait Sender: Send + Sync + 'static {
    /// Sends `request`; the answer, or why there is none.
    fn send(
        &self,
        request: Request<RequestBody>,
        max_body: usize,
    ) -> impl Future<Output = Result<Response<Vec<u8>>, TransportError>> + Send;
}
