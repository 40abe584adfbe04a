//! Sending with ureq 3 and rustls.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use seekpass_oauth::http::{Request, Response, Uri};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};

use seekpass_oauth_driver::proxy::Proxies;
use seekpass_oauth_driver::transport;
use seekpass_oauth_driver::trust::{self, CaFileError};

use crate::Sender;

/// Sends with a ureq agent that leaves redirects and error statuses to the machine.
///
/// It trusts what curl trusts (`seekpass_oauth_driver::trust`): `SSL_CERT_FILE` /
/// `SSL_CERT_DIR`, else the system store, else the compiled-in Mozilla roots, plus any CA
/// files given; and it goes through the proxy curl would use, read from the environment when the
/// sender is made (`seekpass_oauth_driver::proxy`: `https_proxy`, `HTTPS_PROXY`, then
/// `all_proxy` / `ALL_PROXY` for an `https` URL, never `http_proxy`; `no_proxy` / `NO_PROXY`
/// with curl's matching of domains, addresses and ranges; credentials in the proxy's URL).
/// Through a proxy an `https` request travels inside a `CONNECT` tunnel: the proxy never sees
/// the client secret.
#[derive(Clone, Debug)]
pub struct UreqSender {
    agent: ureq::Agent,
    /// The proxies each request is routed by; `None` leaves it to the agent's configuration.
    proxies: Option<Arc<Proxies>>,
}

impl UreqSender {
    /// An agent with the trust roots above and the proxy from the environment.
    #[must_use]
    pub fn new() -> UreqSender {
        UreqSender::from_env(&trust::default_roots())
    }

    /// Like [`UreqSender::new`], also trusting the CAs in `ca_files` (PEM), as `curl --cacert`.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or holds no certificate.
    pub fn with_ca_files(ca_files: &[PathBuf]) -> Result<UreqSender, CaFileError> {
        Ok(UreqSender::from_env(&trust::roots(ca_files)?))
    }

    fn from_env(roots: &trust::Roots) -> UreqSender {
        UreqSender {
            agent: agent(roots),
            proxies: Some(Arc::new(Proxies::from_env())),
        }
    }

    /// Sends with `agent` as configured (proxy, TLS roots, …). Configure it with
    /// `http_status_as_error(false)` and `max_redirects(0)`: the machine classifies statuses
    /// and follows only safe redirects itself.
    #[must_use]
    pub fn with_agent(agent: ureq::Agent) -> UreqSender {
        UreqSender {
            agent,
            proxies: None,
        }
    }
}

/// No redirects, statuses as values, no proxy of its own (each request is given its own),
/// trusting `roots`.
fn agent(roots: &trust::Roots) -> ureq::Agent {
    let certs = roots
        .certs
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .tls_config(tls)
        .build()
        .into()
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
        let proxy = match &self.proxies {
            Some(proxies) => Some(proxy_for(proxies, request.uri())?),
            None => None,
        };
        let mut configured = self
            .agent
            .configure_request(request.map(Vec::from))
            .timeout_global(Some(timeout));
        if let Some(proxy) = proxy {
            configured = configured.proxy(proxy);
        }
        let request = configured.build();
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

/// The ureq proxy for a request to `uri` (`None`: direct), as the resolver chose it.
fn proxy_for(proxies: &Proxies, uri: &Uri) -> Result<Option<ureq::Proxy>, TransportError> {
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Ok(None);
    };
    match proxies.for_target(scheme, host) {
        None => Ok(None),
        Some(url) => ureq::Proxy::new(url.as_str()).map(Some).map_err(|e| {
            TransportError::new(
                TransportErrorKind::ProxyRefused,
                format!(
                    "the proxy {url:?} from the environment cannot be used ({e}): check \
                     https_proxy, HTTPS_PROXY, http_proxy, all_proxy and ALL_PROXY"
                ),
            )
        }),
    }
}

fn transport_error(e: ureq::Error) -> TransportError {
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Io(io) => transport::io_kind(io, TransportErrorKind::Io),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => {
            transport::message_kind(&e.to_string()).unwrap_or(TransportErrorKind::Tls)
        }
        ureq::Error::ConnectProxyFailed(_) => {
            transport::message_kind(&e.to_string()).unwrap_or(TransportErrorKind::ProxyRefused)
        }
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, e.to_string())
}
