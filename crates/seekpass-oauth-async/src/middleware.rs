//! A reqwest-middleware that puts the bearer of a source, or of a pool's key, on requests to the
//! SEEK Pass API's origin and, when the API rejects the token, invalidates it and retries the
//! request once with a new one.

use reqwest::header::AUTHORIZATION;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use seekpass_oauth::http::Extensions;

use crate::bearer::{refuses_token, replacement, AppliesTo, Authorizer, PoolAuth, RequestHead};
use crate::{PoolKey, SourcePool, TokenSource};

/// Adds `Authorization: Bearer …` from a [`TokenSource`], or from a [`SourcePool`] for the
/// request's key, to requests for the API's origin.
///
/// By default only requests to the origin (scheme, host and port) of the source's token URL get
/// the token, so it never leaves for another host through this client; [`BearerAuth::only_for`]
/// names another origin and [`BearerAuth::any_origin`] widens it to every request.
///
/// When the API answers `401` for the token (RFC 6750 §3: a challenge with
/// `error="invalid_token"`, or none at all), the token is invalidated and the request is sent
/// again once with a new token, if it can be cloned (a streaming body cannot; then the `401` is
/// returned, and the token is still invalidated so the next request gets a new one). However
/// many requests meet the same `401` at once, one new token is fetched. A request is retried at
/// most once, and only with another token: when the source keeps the token (a replacement
/// refused again soon, see [`TokenSource::invalidate`]), the `401` is returned as it came.
///
/// ```no_run
/// # async fn example(source: seekpass_oauth_async::TokenSource) -> Result<(), Box<dyn std::error::Error>> {
/// use seekpass_oauth_async::BearerAuth;
///
/// // Requests to the token URL's origin get the token; others go out as they are.
/// let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerAuth::new(source))
///     .build();
/// let response = api
///     .get("https://app.seekpass-staging.com/api/partner/v1/oauth/token/info")
///     .send()
///     .await?;
/// # let _ = response; Ok(()) }
/// ```
/// Over a [`SourcePool`], [`BearerAuth::pool`] takes the key from each request ([`PoolKey`]): a
/// request bound for the API without one is not sent
/// ([`Error::NoKey`](crate::Error::NoKey)), and the `401` rules above hold per key.
///
/// ```no_run
/// # async fn example(pool: seekpass_oauth_async::SourcePool<Institution>) -> Result<(), Box<dyn std::error::Error>> {
/// use seekpass_oauth_async::{BearerAuth, PoolKey};
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash)]
/// struct Institution(u32);
///
/// let base = "https://app.seekpass-staging.com".parse()?;
/// let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerAuth::pool(pool, PoolKey::extension(), &base))
///     .build();
/// let response = api
///     .get("https://app.seekpass-staging.com/api/partner/v1/oauth/token/info")
///     .with_extension(Institution(42))
///     .send()
///     .await?;
/// # let _ = response; Ok(()) }
/// # #[derive(Clone, Debug, PartialEq, Eq, Hash)] struct Institution(u32);
/// ```
#[derive(Clone, Debug)]
pub struct BearerAuth<A = TokenSource> {
    auth: A,
    applies_to: AppliesTo,
}

impl BearerAuth<TokenSource> {
    /// Authorizes the requests to the origin of `source`'s token URL (the SEEK Pass API shares
    /// it), and no other.
    #[must_use]
    pub fn new(source: TokenSource) -> BearerAuth<TokenSource> {
        let uri = source.token_uri();
        let applies_to = AppliesTo::origin(
            uri.scheme_str().unwrap_or_default(),
            uri.host(),
            uri.port_u16(),
        );
        BearerAuth {
            auth: source,
            applies_to,
        }
    }
}

impl<K> BearerAuth<PoolAuth<K>> {
    /// Authorizes the requests to `base_url`'s origin (scheme, host and port), each with the
    /// token of the key `key` finds in it. A URL without a host matches nothing.
    #[must_use]
    pub fn pool(pool: SourcePool<K>, key: PoolKey<K>, base_url: &reqwest::Url) -> Self {
        BearerAuth {
            auth: PoolAuth::new(pool, key),
            applies_to: origin(base_url),
        }
    }
}

impl<A> BearerAuth<A> {
    /// Authorizes every request the client sends, whatever its host: only for a client that
    /// talks to nothing but the API.
    #[must_use]
    pub fn any_origin(mut self) -> BearerAuth<A> {
        self.applies_to = AppliesTo::Every;
        self
    }

    /// Authorizes only requests to `base_url`'s origin (scheme, host and port) instead, so the
    /// token never goes anywhere else through this client. A URL without a host matches nothing.
    #[must_use]
    pub fn only_for(mut self, base_url: &reqwest::Url) -> BearerAuth<A> {
        self.applies_to = origin(base_url);
        self
    }
}

fn origin(url: &reqwest::Url) -> AppliesTo {
    AppliesTo::origin(url.scheme(), url.host_str(), url.port())
}

/// Whether a response says the bearer token itself was refused (RFC 6750 §3), rather than,
/// say, a missing permission.
#[must_use]
pub fn rejects_token(response: &Response) -> bool {
    refuses_token(response.status(), response.headers())
}

#[async_trait::async_trait]
impl<A: Authorizer> Middleware for BearerAuth<A> {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let url = request.url();
        if !self
            .applies_to
            .allows(url.scheme(), url.host_str(), url.port())
        {
            return next.run(request, extensions).await;
        }
        let head = RequestHead {
            method: request.method(),
            host: url.host_str(),
            path: url.path(),
            query: url.query(),
            headers: request.headers(),
            extensions,
        };
        let ticket = self
            .auth
            .ticket(&head)
            .map_err(reqwest_middleware::Error::middleware)?;
        let served = self
            .auth
            .served(&ticket)
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        let retry = request.try_clone();
        request
            .headers_mut()
            .insert(AUTHORIZATION, served.authorization);
        let response = next.clone().run(request, extensions).await?;
        if !rejects_token(&response) {
            return Ok(response);
        }
        self.auth.invalidate(&ticket, served.token);
        let Some(mut retry) = retry else {
            return Ok(response);
        };
        let Some(served) = replacement(&self.auth, &ticket, served.token)
            .await
            .map_err(reqwest_middleware::Error::middleware)?
        else {
            // The token was kept (its refusals are held back): the 401 is the answer.
            return Ok(response);
        };
        retry
            .headers_mut()
            .insert(AUTHORIZATION, served.authorization);
        next.run(retry, extensions).await
    }
}
