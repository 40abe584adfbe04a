//! Sending with reqwest 0.13 (rustls).

use std::path::PathBuf;
use std::time::Duration;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};

use seekpass_oauth_driver::proxy::Proxies;
use seekpass_oauth_driver::{transport, trust};

use crate::Sender;

/// Sends with a reqwest client that leaves redirects and error statuses to the machine.
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
pub struct ReqwestSender {
    client: reqwest::Client,
}

impl ReqwestSender {
    /// A client with the trust roots above, the proxy from the environment and no redirects.
    ///
    /// # Errors
    ///
    /// When reqwest cannot build its client (its TLS backend failed to initialise).
    pub fn new() -> Result<ReqwestSender, ReqwestSenderError> {
        ReqwestSender::with_roots(&trust::default_roots())
    }

    /// Like [`ReqwestSender::new`], also trusting the CAs in `ca_files` (PEM), as
    /// `curl --cacert`.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or holds no certificate, or reqwest cannot build its client.
    pub fn with_ca_files(ca_files: &[PathBuf]) -> Result<ReqwestSender, ReqwestSenderError> {
        ReqwestSender::with_roots(&trust::roots(ca_files).map_err(ReqwestSenderError::CaFile)?)
    }

    /// No redirects, the proxy curl would use, trusting `roots`.
    fn with_roots(roots: &trust::Roots) -> Result<ReqwestSender, ReqwestSenderError> {
        let proxies = Proxies::from_env();
        // reqwest skips a proxy it cannot use and connects directly: refuse it here instead.
        for proxy in proxies.configured() {
            let usable = reqwest::Url::parse(proxy.as_str())
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
            if usable.is_none() {
                return Err(ReqwestSenderError::Proxy(format!(
                    "the proxy {proxy:?} from the environment cannot be used (an http:// or \
                     https:// URL with a host is needed): check https_proxy, HTTPS_PROXY, \
                     http_proxy, all_proxy and ALL_PROXY"
                )));
            }
        }
        let certs = roots
            .certs
            .iter()
            .map(|c| reqwest::Certificate::from_der(c.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ReqwestSenderError::Client)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .tls_certs_only(certs)
            // Only the resolver's choice: reqwest's own reading of the environment differs
            // from curl's (it uses `HTTP_PROXY` for nothing but takes no CIDR, for one).
            .no_proxy()
            .proxy(reqwest::Proxy::custom(move |url| {
                let proxy = proxies.for_target(url.scheme(), url.host_str()?)?;
                Some(proxy.as_str().to_owned())
            }))
            .build()
            .map_err(ReqwestSenderError::Client)?;
        Ok(ReqwestSender { client })
    }

    /// Sends with `client` as configured (proxy, TLS roots, …). Configure it with
    /// `redirect(Policy::none())`: the machine follows only safe redirects itself.
    #[must_use]
    pub fn with_client(client: reqwest::Client) -> ReqwestSender {
        ReqwestSender { client }
    }
}

/// Why a [`ReqwestSender`] could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReqwestSenderError {
    /// A CA file cannot be used.
    CaFile(trust::CaFileError),
    /// reqwest refused the configuration.
    Client(reqwest::Error),
    /// A proxy the environment names cannot be used (reqwest would otherwise go direct, past
    /// it): what is wrong, the URL shown without its credentials.
    Proxy(String),
}

impl std::fmt::Display for ReqwestSenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReqwestSenderError::CaFile(e) => e.fmt(f),
            ReqwestSenderError::Client(e) => write!(f, "reqwest client: {e}"),
            ReqwestSenderError::Proxy(problem) => f.write_str(problem),
        }
    }
}

impl std::error::Error for ReqwestSenderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReqwestSenderError::CaFile(e) => Some(e),
            ReqwestSenderError::Client(e) => Some(e),
            ReqwestSenderError::Proxy(_) => None,
        }
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
