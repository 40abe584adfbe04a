//! A `tower::Layer` for clients built on `http::Request` (hyper, tonic, axum's client side): the
//! bearer of a source or of a pool's key on requests to the API's origin, with the same `401`
//! rules as [`BearerAuth`](crate::BearerAuth).

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use seekpass_oauth::http::header::AUTHORIZATION;
use seekpass_oauth::http::{Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::{refuses_token, replacement, AppliesTo, Authorizer, PoolAuth, RequestHead};
use crate::{PoolKey, SourcePool, TokenSource};

/// The error a [`Bearer`] service returns: the inner service's, or the token's
/// ([`Error`](crate::Error)), boxed as tower's middleware do.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a [`Bearer`] service sends a request again after the API refused its token: a body is
/// not always replayable (a stream), so the layer is told how, as tower-http's redirect policy
/// is.
pub trait ReplayBody<B> {
    /// A copy of `body` to send again, or `None` when it cannot be sent again.
    fn replay(&self, body: &B) -> Option<B>;
}

/// No replay (the default): after a refused token the `401` is returned, the token is
/// invalidated, and the next request gets a new one. For bodies that cannot be cloned (tonic's,
/// a stream).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReplay;

impl<B> ReplayBody<B> for NoReplay {
    fn replay(&self, _body: &B) -> Option<B> {
        None
    }
}

/// Replays a body by cloning it (`Full<Bytes>`, `String`, `Empty`): the request is sent again
/// once with a new token, as [`BearerAuth`](crate::BearerAuth) does.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneBody;

impl<B: Clone> ReplayBody<B> for CloneBody {
    fn replay(&self, body: &B) -> Option<B> {
        Some(body.clone())
    }
}

/// Adds `Authorization: Bearer …` to the requests for the API's origin a tower service sends,
/// from a [`TokenSource`] or from a [`SourcePool`] for the request's key ([`PoolKey`]).
///
/// The rules are [`BearerAuth`](crate::BearerAuth)'s: only the API's origin gets the token
/// (widened with [`BearerLayer::any_origin`]); a `401` refusing the token (RFC 6750 §3)
/// invalidates it, and the request is sent again once with a new token when its body can be
/// replayed ([`BearerLayer::replay`] with [`CloneBody`]) and the source gave another token; a
/// pool's request bound for the API without a key is not sent
/// ([`Error::NoKey`](crate::Error::NoKey)).
///
/// ```no_run
/// # async fn example(source: seekpass_oauth_async::TokenSource) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use seekpass_oauth_async::{BearerLayer, CloneBody};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
/// let mut api = ServiceBuilder::new()
///     .layer(BearerLayer::new(source).replay(CloneBody))
///     .service(client);
/// let request = seekpass_oauth::http::Request::get("http://localhost:3000/api/partner/v1/oauth/token/info")
///     .body(Full::default())?;
/// let response = api.ready().await?.call(request).await?;
/// # let _ = response; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct BearerLayer<A = TokenSource, R = NoReplay> {
    auth: A,
    applies_to: AppliesTo,
    replay: R,
}

impl BearerLayer<TokenSource> {
    /// Authorizes the requests to the origin of `source`'s token URL (the SEEK Pass API shares
    /// it), and no other.
    #[must_use]
    pub fn new(source: TokenSource) -> BearerLayer<TokenSource> {
        let applies_to = origin(&source.token_uri());
        BearerLayer {
            auth: source,
            applies_to,
            replay: NoReplay,
        }
    }
}

impl<K> BearerLayer<PoolAuth<K>> {
    /// Authorizes the requests to `base_url`'s origin (scheme, host and port), each with the
    /// token of the key `key` finds in it. A URL without a host matches nothing.
    #[must_use]
    pub fn pool(pool: SourcePool<K>, key: PoolKey<K>, base_url: &Uri) -> Self {
        BearerLayer {
            auth: PoolAuth::new(pool, key),
            applies_to: origin(base_url),
            replay: NoReplay,
        }
    }
}

impl<A, R> BearerLayer<A, R> {
    /// Authorizes every request the service sends, whatever its host: only for a client that
    /// talks to nothing but the API.
    #[must_use]
    pub fn any_origin(mut self) -> BearerLayer<A, R> {
        self.applies_to = AppliesTo::Every;
        self
    }

    /// Authorizes only requests to `base_url`'s origin (scheme, host and port) instead. A URL
    /// without a host matches nothing.
    #[must_use]
    pub fn only_for(mut self, base_url: &Uri) -> BearerLayer<A, R> {
        self.applies_to = origin(base_url);
        self
    }

    /// Sends a request refused for its token again once, with a new token, replaying its body
    /// with `replay` ([`CloneBody`] for bodies that are `Clone`).
    #[must_use]
    pub fn replay<R2>(self, replay: R2) -> BearerLayer<A, R2> {
        BearerLayer {
            auth: self.auth,
            applies_to: self.applies_to,
            replay,
        }
    }
}

fn origin(uri: &Uri) -> AppliesTo {
    AppliesTo::origin(
        uri.scheme_str().unwrap_or_default(),
        uri.host(),
        uri.port_u16(),
    )
}

impl<S, A: Clone, R: Clone> Layer<S> for BearerLayer<A, R> {
    type Service = Bearer<S, A, R>;

    fn layer(&self, inner: S) -> Bearer<S, A, R> {
        Bearer {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`BearerLayer`] wraps around a client.
#[derive(Clone)]
pub struct Bearer<S, A = TokenSource, R = NoReplay> {
    inner: S,
    layer: BearerLayer<A, R>,
}

impl<S, A: fmt::Debug, R: fmt::Debug> fmt::Debug for Bearer<S, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

/// The future of a [`Bearer`] service's call.
pub type BearerFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S, A, R, B, RB> Service<Request<B>> for Bearer<S, A, R>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    A: Authorizer,
    R: ReplayBody<B> + Clone + Send + Sync + 'static,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = BoxError;
    type Future = BearerFuture<Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> BearerFuture<Response<RB>> {
        // The service made ready is the one that takes this call; a clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let uri = request.uri();
        if !self.layer.applies_to.allows(
            uri.scheme_str().unwrap_or_default(),
            uri.host(),
            uri.port_u16(),
        ) {
            return Box::pin(async move { inner.call(request).await.map_err(Into::into) });
        }
        let head = RequestHead {
            method: request.method(),
            host: uri.host(),
            path: uri.path(),
            query: uri.query(),
            headers: request.headers(),
            extensions: request.extensions(),
        };
        let ticket = self.layer.auth.ticket(&head);
        let auth = self.layer.auth.clone();
        let retry = replay_request(&self.layer.replay, &request);
        Box::pin(async move {
            let ticket = ticket?;
            let served = auth.served(&ticket).await?;
            request
                .headers_mut()
                .insert(AUTHORIZATION, served.authorization);
            let response = inner.call(request).await.map_err(Into::into)?;
            if !refuses_token(response.status(), response.headers()) {
                return Ok(response);
            }
            auth.invalidate(&ticket, served.token);
            let Some(mut retry) = retry else {
                return Ok(response);
            };
            let Some(served) = replacement(&auth, &ticket, served.token).await? else {
                // The token was kept (its refusals are held back): the 401 is the answer.
                return Ok(response);
            };
            retry
                .headers_mut()
                .insert(AUTHORIZATION, served.authorization);
            poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            inner.call(retry).await.map_err(Into::into)
        })
    }
}

/// A copy of `request` to send again, if `replay` can copy its body.
fn replay_request<B>(replay: &impl ReplayBody<B>, request: &Request<B>) -> Option<Request<B>> {
    let mut copy = Request::new(replay.replay(request.body())?);
    copy.method_mut().clone_from(request.method());
    copy.uri_mut().clone_from(request.uri());
    *copy.version_mut() = request.version();
    copy.headers_mut().clone_from(request.headers());
    copy.extensions_mut().clone_from(request.extensions());
    Some(copy)
}
