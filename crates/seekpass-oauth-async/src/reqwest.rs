//! Sending with reqwest 0.13 (rustls).

use std::time::Duration;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};

use seekpass_oauth_driver::transport;

use crate::Sender;

/// Sends with a reqwest client that leaves redirects and error statuses to the machine.
#[derive(Clone, Debug)]
pub struct ReqwestSender {
    client: reqwest::Client,
}

impl ReqwestSender {
    /// A client with rustls and no redirects.
    ///
    /// # Errors
    ///
    /// When reqwest cannot build its client (its TLS backend failed to initialise).
    pub fn new() -> Result<ReqwestSender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(ReqwestSender { client })
    }

    /// Sends with `client` as configured (proxy, TLS roots, …). Configure it with
    /// `redirect(Policy::none())`: the machine follows only safe redirects itself.
    #[must_use]
    pub fn with_client(client: reqwest::Client) -> ReqwestSender {
        ReqwestSender { client }
    }
}

impl Sender for ReqwestSender {
    async fn send(
        &self,
        request: Request<RequestBody>,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let request = reqwest::Request::try_from(request.map(Vec::from))
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(transport_error)?;
        let mut builder = Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let mut body = Vec::new();
        while body.len() < max_body {
            match response.chunk().await.map_err(transport_error)? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        body.truncate(max_body);
        builder
            .body(body)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    let otherwise = if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Io
    };
    // reqwest's Display stops at its own layer; the causes say what went wrong.
    transport::from_chain(&e, otherwise)
}
