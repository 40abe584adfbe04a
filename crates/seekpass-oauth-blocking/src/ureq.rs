//! Sending with ureq 3 and rustls.

use std::io::Read;
use std::time::Instant;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};

use seekpass_oauth_driver::transport;

use crate::Sender;

/// Sends with a ureq agent that leaves redirects and error statuses to the machine.
#[derive(Clone, Debug)]
pub struct UreqSender {
    agent: ureq::Agent,
}

impl UreqSender {
    /// An agent with rustls and the platform's defaults; no redirects, statuses as values.
    #[must_use]
    pub fn new() -> UreqSender {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        UreqSender { agent }
    }

    /// Sends with `agent` as configured (proxy, TLS roots, …). Configure it with
    /// `http_status_as_error(false)` and `max_redirects(0)`: the machine classifies statuses
    /// and follows only safe redirects itself.
    #[must_use]
    pub fn with_agent(agent: ureq::Agent) -> UreqSender {
        UreqSender { agent }
    }
}

impl Default for UreqSender {
    fn default() -> Self {
        UreqSender::new()
    }
}

impl Sender for UreqSender {
    fn send(
        &self,
        request: Request<RequestBody>,
        deadline: Instant,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        let request = self
            .agent
            .configure_request(request.map(Vec::from))
            .timeout_global(Some(timeout))
            .build();
        let response = self.agent.run(request).map_err(transport_error)?;
        let (parts, body) = response.into_parts();
        let mut bytes = Vec::new();
        body.into_reader()
            .take(max_body as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                TransportError::new(
                    transport::io_kind(&e, TransportErrorKind::Io),
                    e.to_string(),
                )
            })?;
        Ok(Response::from_parts(parts, bytes))
    }
}

fn transport_error(e: ureq::Error) -> TransportError {
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Io(io) => transport::io_kind(io, TransportErrorKind::Io),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, e.to_string())
}
