//! What the bearer middlewares ([`BearerAuth`](crate::BearerAuth) for reqwest-middleware,
//! [`BearerLayer`](crate::BearerLayer) for tower) share: where a request's token comes from (one
//! source, or a pool and the request's key), which requests get it, and when a response refuses
//! it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use seekpass_oauth::http::header::WWW_AUTHENTICATE;
use seekpass_oauth::http::{Extensions, HeaderMap, Method, StatusCode};
use seekpass_oauth::TokenId;
use seekpass_oauth_driver::{Error, Served};

use crate::{SourcePool, TokenSource};

/// The parts of an outgoing request a pool's key can be read from, whichever client sends it.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// The URL's host, if it has one.
    pub host: Option<&'a str>,
    /// The URL's path (`/` at least).
    pub path: &'a str,
    /// The URL's query, without its `?`.
    pub query: Option<&'a str>,
    /// The request's headers (without the bearer, which is added after the key is read).
    pub headers: &'a HeaderMap,
    /// The request's extensions: reqwest-middleware's (`RequestBuilder::with_extension`) or
    /// `http::Request::extensions`.
    pub extensions: &'a Extensions,
}

impl fmt::Debug for RequestHead<'_> {
    // Headers can carry credentials of their own: only the method, host and path are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", self.method)
            .field("host", &self.host)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How a bearer middleware over a [`SourcePool`] finds the key of a request: from its
/// extensions, or with a function of its method, URL and headers. A request bound for the API
/// without a key is not sent: the middleware returns [`Error::NoKey`].
pub struct PoolKey<K> {
    read: Arc<ReadKey<K>>,
}

/// A function from a request's head to its key.
type ReadKey<K> = dyn Fn(&RequestHead<'_>) -> Option<K> + Send + Sync;

impl<K> Clone for PoolKey<K> {
    fn clone(&self) -> PoolKey<K> {
        PoolKey {
            read: Arc::clone(&self.read),
        }
    }
}

impl<K> fmt::Debug for PoolKey<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolKey").finish_non_exhaustive()
    }
}

impl<K: Clone + Send + Sync + 'static> PoolKey<K> {
    /// The `K` value in the request's extensions, put there with reqwest-middleware's
    /// `RequestBuilder::with_extension(key)` or `http::Request::extensions_mut().insert(key)`.
    /// A type of its own (`struct Institution(u32)`) keeps the key apart from other extensions.
    #[must_use]
    pub fn extension() -> PoolKey<K> {
        PoolKey::from_fn(|head| head.extensions.get::<K>().cloned())
    }

    /// The key `read` returns for a request (a header, a path segment), `None` for none.
    #[must_use]
    pub fn from_fn(
        read: impl Fn(&RequestHead<'_>) -> Option<K> + Send + Sync + 'static,
    ) -> PoolKey<K> {
        PoolKey {
            read: Arc::new(read),
        }
    }
}

/// A [`SourcePool`] and the way to find a request's key in it: what a bearer middleware over a
/// pool takes its tokens from.
pub struct PoolAuth<K> {
    pool: SourcePool<K>,
    key: PoolKey<K>,
}

impl<K> Clone for PoolAuth<K> {
    fn clone(&self) -> PoolAuth<K> {
        PoolAuth {
            pool: self.pool.clone(),
            key: self.key.clone(),
        }
    }
}

impl<K> fmt::Debug for PoolAuth<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolAuth").finish_non_exhaustive()
    }
}

impl<K> PoolAuth<K> {
    /// Tokens from `pool`, for the key `key` finds in each request.
    #[must_use]
    pub fn new(pool: SourcePool<K>, key: PoolKey<K>) -> PoolAuth<K> {
        PoolAuth { pool, key }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::TokenSource {}
    impl<K> Sealed for super::PoolAuth<K> {}
}

/// Where a bearer middleware takes its tokens from: a [`TokenSource`], or a [`PoolAuth`] (a
/// [`SourcePool`] and a [`PoolKey`]). Implemented by those two only.
pub trait Authorizer: sealed::Sealed + Clone + Send + Sync + 'static {
    /// What a request is served under: nothing for a source, the key for a pool.
    #[doc(hidden)]
    type Ticket: Send + Sync + 'static;

    /// The ticket of a request bound for the API; [`Error::NoKey`] when a pool's key is missing.
    #[doc(hidden)]
    fn ticket(&self, head: &RequestHead<'_>) -> Result<Self::Ticket, Error>;

    /// A token for the ticket, waiting as the source's `served` does.
    #[doc(hidden)]
    fn served<'a>(
        &'a self,
        ticket: &'a Self::Ticket,
    ) -> impl Future<Output = Result<Served, Error>> + Send + 'a;

    /// Reports the ticket's token refused by the API.
    #[doc(hidden)]
    fn invalidate(&self, ticket: &Self::Ticket, token: TokenId);
}

impl Authorizer for TokenSource {
    type Ticket = ();

    fn ticket(&self, _head: &RequestHead<'_>) -> Result<(), Error> {
        Ok(())
    }

    fn served<'a>(
        &'a self,
        _ticket: &'a (),
    ) -> impl Future<Output = Result<Served, Error>> + Send + 'a {
        TokenSource::served(self)
    }

    fn invalidate(&self, _ticket: &(), token: TokenId) {
        TokenSource::invalidate(self, token);
    }
}

impl<K: Eq + std::hash::Hash + Clone + Send + Sync + 'static> Authorizer for PoolAuth<K> {
    type Ticket = K;

    fn ticket(&self, head: &RequestHead<'_>) -> Result<K, Error> {
        (self.key.read)(head).ok_or(Error::NoKey)
    }

    fn served<'a>(&'a self, key: &'a K) -> impl Future<Output = Result<Served, Error>> + Send + 'a {
        self.pool.served(key)
    }

    fn invalidate(&self, key: &K, token: TokenId) {
        self.pool.invalidate(key, token);
    }
}

/// After the API refused `refused` (already reported): a token to retry with, or `None` when
/// the authorizer kept the refused one (its refusals are held back, see
/// [`TokenSource::invalidate`]): the request is retried at most once, and only with another
/// token.
pub(crate) async fn replacement<A: Authorizer>(
    auth: &A,
    ticket: &A::Ticket,
    refused: TokenId,
) -> Result<Option<Served>, Error> {
    let served = auth.served(ticket).await?;
    Ok((served.token != refused).then_some(served))
}

/// Whether a response refuses the bearer token itself (RFC 6750 §3: `401` with a challenge
/// saying `error="invalid_token"`, or with none at all), rather than, say, a missing permission.
pub(crate) fn refuses_token(status: StatusCode, headers: &HeaderMap) -> bool {
    if status != StatusCode::UNAUTHORIZED {
        return false;
    }
    let Some(challenge) = headers.get(WWW_AUTHENTICATE) else {
        return true;
    };
    let challenge = String::from_utf8_lossy(challenge.as_bytes()).to_ascii_lowercase();
    !challenge.contains("error=") || challenge.contains("invalid_token")
}

/// Which requests get the bearer.
#[derive(Clone, Debug)]
pub(crate) enum AppliesTo {
    Every,
    /// A base URL without a host: no request.
    None,
    Origin(Origin),
}

/// Scheme, host (lower case) and port, the port filled in from the scheme when the URL has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl AppliesTo {
    /// Requests to the origin of a URL with this scheme, host and port.
    pub(crate) fn origin(scheme: &str, host: Option<&str>, port: Option<u16>) -> AppliesTo {
        Origin::of(scheme, host, port).map_or(AppliesTo::None, AppliesTo::Origin)
    }

    pub(crate) fn allows(&self, scheme: &str, host: Option<&str>, port: Option<u16>) -> bool {
        match self {
            AppliesTo::Every => true,
            AppliesTo::None => false,
            AppliesTo::Origin(wanted) => wanted.matches(scheme, host, port),
        }
    }
}

impl Origin {
    fn of(scheme: &str, host: Option<&str>, port: Option<u16>) -> Option<Origin> {
        Some(Origin {
            port: port.or_else(|| default_port(scheme))?,
            host: host?.to_ascii_lowercase(),
            scheme: scheme.to_ascii_lowercase(),
        })
    }

    /// Whether a URL with this scheme, host and port has this origin; compared in place, as it
    /// is for every request.
    fn matches(&self, scheme: &str, host: Option<&str>, port: Option<u16>) -> bool {
        scheme.eq_ignore_ascii_case(&self.scheme)
            && host.is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
            && port.or_else(|| default_port(scheme)) == Some(self.port)
    }
}

/// The port a URL of `scheme` means when it names none.
fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else {
        None
    }
}
