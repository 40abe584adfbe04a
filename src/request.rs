//! The token request (RFC 6749 §4.4.2): built once per configuration, cloned for each attempt.

use core::fmt;

use http::header::{HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Uri};

use zeroize::{Zeroize, Zeroizing};

use crate::config::Config;
use crate::credentials::ClientAuth;
use crate::ids::RequestId;
use crate::secret::sensitive_header;
use crate::time::Time;

/// A form body that may hold the client secret: it derefs to its bytes, and its `Debug` shows
/// only its length. Convert it with `Vec::from(body)` (or `request.map(Vec::from)`) for an HTTP
/// client that wants a `Vec<u8>`.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestBody(Vec<u8>);

impl RequestBody {
    /// The body's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::Deref for RequestBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for RequestBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Hands the bytes over; wiping them is then the receiver's business.
impl From<RequestBody> for Vec<u8> {
    fn from(mut body: RequestBody) -> Vec<u8> {
        core::mem::take(&mut body.0)
    }
}

/// The body holds the client secret (with `client_secret_post`): wiped when dropped.
impl Drop for RequestBody {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestBody({} bytes, redacted)", self.0.len())
    }
}

/// A token request for the caller to send, from [`Output::Transmit`](crate::Output::Transmit).
#[derive(Debug)]
#[must_use = "a token request must be sent and its answer fed back"]
pub struct Transmit {
    id: RequestId,
    deadline: Time,
    request: Request<RequestBody>,
}

impl Transmit {
    /// The id to give back with the answer.
    #[must_use]
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// When the machine will count the request as failed if no answer has been fed; give the
    /// HTTP client a timeout that ends no later.
    #[must_use]
    pub fn deadline(&self) -> Time {
        self.deadline
    }

    /// The request.
    #[must_use]
    pub fn request(&self) -> &Request<RequestBody> {
        &self.request
    }

    /// The id and the request.
    #[must_use]
    pub fn into_parts(self) -> (RequestId, Request<RequestBody>) {
        (self.id, self.request)
    }
}

/// The parts of the token request that do not change between attempts. The headers are
/// built for each request from the two that vary: a header map kept here would cost a pool
/// entry about 650 bytes for three static values.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PreparedRequest {
    uri: Uri,
    user_agent: HeaderValue,
    /// `Basic …` for the client authentications that send the secret in a header.
    authorization: Option<HeaderValue>,
    body: Zeroizing<Vec<u8>>,
}

impl PreparedRequest {
    pub(crate) fn new(config: &Config) -> PreparedRequest {
        let credentials = &config.credentials;
        let secret = credentials.client_secret().expose_secret();
        let mut authorization = None;

        let scope = config.scopes.to_string();
        // Sized up front (every byte encodes to at most 3), so growing never leaves a copy of
        // the secret in a freed buffer.
        let raw_len = [credentials.client_id().len(), secret.len(), scope.len(), 64]
            .into_iter()
            .chain(
                config
                    .extra_params
                    .iter()
                    .map(|(n, v)| n.len().saturating_add(v.len()).saturating_add(2)),
            )
            .fold(0usize, usize::saturating_add);
        let mut form =
            form_urlencoded::Serializer::new(String::with_capacity(raw_len.saturating_mul(3)));
        form.append_pair("grant_type", "client_credentials");
        match config.client_auth {
            ClientAuth::SecretPost => {
                form.append_pair("client_id", credentials.client_id());
                form.append_pair("client_secret", secret);
            }
            ClientAuth::SecretBasic => {
                // RFC 6749 §2.3.1: form-urlencode each part, then base64 "id:secret".
                let id: String =
                    form_urlencoded::byte_serialize(credentials.client_id().as_bytes()).collect();
                let mut encoded = String::with_capacity(secret.len().saturating_mul(3));
                encoded.extend(form_urlencoded::byte_serialize(secret.as_bytes()));
                let encoded = Zeroizing::new(encoded);
                authorization = basic(&id, &encoded);
            }
            ClientAuth::SecretBasicUnencoded => {
                authorization = basic(credentials.client_id(), secret);
            }
        }
        if !scope.is_empty() {
            form.append_pair("scope", &scope);
        }
        for (name, value) in &config.extra_params {
            form.append_pair(name, value);
        }
        PreparedRequest {
            uri: config.endpoint.token_uri().clone(),
            user_agent: config.user_agent.header(),
            authorization,
            body: Zeroizing::new(form.finish().into_bytes()),
        }
    }

    /// The configured token URI.
    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request, to `target` (a followed redirect) or to the configured URI.
    pub(crate) fn transmit(&self, id: RequestId, deadline: Time, target: Option<&Uri>) -> Transmit {
        let mut request = Request::new(RequestBody(self.body.to_vec()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target.unwrap_or(&self.uri).clone();
        let headers = request.headers_mut();
        headers.reserve(5);
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        // No content coding: a gzip body from a CDN in front of the endpoint would be refused
        // (RFC 9110 §12.5.3: `identity` asks for the body as it is).
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        headers.insert(USER_AGENT, self.user_agent.clone());
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        Transmit {
            id,
            deadline,
            request,
        }
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// `Basic base64(id:secret)`, marked sensitive so HTTP stacks keep it out of logs, and wiped
/// from memory with the last copy of the header value. `None` cannot happen (base64 is always
/// a valid header value); the header is then left out and the server answers `invalid_client`.
fn basic(id: &str, secret: &str) -> Option<HeaderValue> {
    let mut raw = Zeroizing::new(Vec::with_capacity(
        id.len().saturating_add(secret.len()).saturating_add(1),
    ));
    raw.extend_from_slice(id.as_bytes());
    raw.push(b':');
    raw.extend_from_slice(secret.as_bytes());
    let encoded_len = raw.len().div_ceil(3).saturating_mul(4);
    let mut value = Vec::with_capacity(encoded_len.saturating_add(6));
    value.extend_from_slice(b"Basic ");
    base64_encode(&raw, &mut value);
    sensitive_header(value)
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64_encode(input: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // The index is masked to 0..64, so `get` always finds a character.
    let sextet = |n: u32, shift: u32| {
        ALPHABET
            .get(((n >> shift) & 63) as usize)
            .map_or(b'=', |b| *b)
    };
    for chunk in input.chunks(3) {
        let b = |i: usize| chunk.get(i).copied().map_or(0, u32::from);
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sextet(n, 18));
        out.push(sextet(n, 12));
        out.push(if chunk.len() > 1 { sextet(n, 6) } else { b'=' });
        out.push(if chunk.len() > 2 { sextet(n, 0) } else { b'=' });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            base64_encode(input.as_bytes(), &mut out);
            assert_eq!(out, expected.as_bytes(), "{input:?}");
        }
        let mut out = Vec::new();
        base64_encode(&[0xFB, 0xFF, 0xBF], &mut out);
        assert_eq!(out, b"+/+/");
    }

    #[test]
    fn doorkeeper_capture_basic_values() {
        // REFERENCE: cases 24a (raw, accepted) and 24b (RFC-encoded, rejected by Doorkeeper).
        assert_eq!(
            basic("special-client", "s+e/c=r:e%t &x").unwrap(),
            "Basic c3BlY2lhbC1jbGllbnQ6cytlL2M9cjplJXQgJng="
        );
        let id: String = form_urlencoded::byte_serialize(b"special-client").collect();
        let secret: String = form_urlencoded::byte_serialize(b"s+e/c=r:e%t &x").collect();
        assert_eq!(
            basic(&id, &secret).unwrap(),
            "Basic c3BlY2lhbC1jbGllbnQ6cyUyQmUlMkZjJTNEciUzQWUlMjV0KyUyNng="
        );
        assert!(basic("a", "b").unwrap().is_sensitive());
    }

    #[test]
    fn prepared_request_debug_shows_the_uri_only() {
        let config = crate::Config::builder(
            crate::Endpoint::staging(),
            crate::Credentials::new("id", "hunter2"),
        )
        .build()
        .unwrap();
        let shown = format!("{:?}", PreparedRequest::new(&config));
        assert_eq!(
            shown,
            "PreparedRequest { uri: https://app.seekpass-staging.com/api/partner/v1/oauth/token.json, .. }"
        );
    }

    #[test]
    fn body_debug_hides_the_secret() {
        let body = RequestBody(b"client_secret=hunter2".to_vec());
        let shown = format!("{body:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("104"), "{shown}"); // not even as bytes
        assert_eq!(shown, "RequestBody(21 bytes, redacted)");
        assert_eq!(body.as_bytes(), b"client_secret=hunter2");
        assert_eq!(Vec::from(body.clone()), b"client_secret=hunter2".to_vec());
        assert_eq!(&*body, b"client_secret=hunter2");
    }
}
