//! A reqwest-middleware that puts the bearer on requests to the SEEK Pass API's origin and, when
//! the API rejects the token, invalidates it and retries the request once with a new one.

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};
use seekpass_oauth::http::Extensions;

use crate::TokenSource;

/// Adds `Authorization: Bearer …` from a [`TokenSource`] to requests for the API's origin.
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
#[derive(Clone, Debug)]
pub struct BearerAuth {
    source: TokenSource,
    applies_to: AppliesTo,
}

/// Which requests get the bearer.
#[derive(Clone, Debug)]
enum AppliesTo {
    Every,
    /// `only_for` was given a URL without a host: no request.
    None,
    Origin(Origin),
}

/// Scheme, host and port.
type Origin = (String, String, u16);

impl BearerAuth {
    /// Authorizes the requests to the origin of `source`'s token URL (the SEEK Pass API shares
    /// it), and no other.
    #[must_use]
    pub fn new(source: TokenSource) -> BearerAuth {
        let applies_to = reqwest::Url::parse(&source.token_uri().to_string())
            .ok()
            .and_then(|url| origin(&url))
            .map_or(AppliesTo::None, AppliesTo::Origin);
        BearerAuth { source, applies_to }
    }

    /// Authorizes every request the client sends, whatever its host: only for a client that
    /// talks to nothing but the API.
    #[must_use]
    pub fn any_origin(mut self) -> BearerAuth {
        self.applies_to = AppliesTo::Every;
        self
    }

    /// Authorizes only requests to `base_url`'s origin (scheme, host and port) instead, so the
    /// token never goes anywhere else through this client. A URL without a host matches nothing.
    #[must_use]
    pub fn only_for(mut self, base_url: &reqwest::Url) -> BearerAuth {
        self.applies_to = origin(base_url).map_or(AppliesTo::None, AppliesTo::Origin);
        self
    }

    fn applies(&self, url: &reqwest::Url) -> bool {
        match &self.applies_to {
            AppliesTo::Every => true,
            AppliesTo::None => false,
            AppliesTo::Origin(wanted) => origin(url).as_ref() == Some(wanted),
        }
    }
}

fn origin(url: &reqwest::Url) -> Option<Origin> {
    Some((
        url.scheme().to_owned(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

/// Whether a response says the bearer token itself was refused (RFC 6750 §3), rather than,
/// say, a missing permission.
#[must_use]
pub fn rejects_token(response: &Response) -> bool {
    if response.status() != StatusCode::UNAUTHORIZED {
        return false;
    }
    let Some(challenge) = response.headers().get(WWW_AUTHENTICATE) else {
        return true;
    };
    let challenge = String::from_utf8_lossy(challenge.as_bytes()).to_ascii_lowercase();
    !challenge.contains("error=") || challenge.contains("invalid_token")
}

#[async_trait::async_trait]
impl Middleware for BearerAuth {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !self.applies(request.url()) {
            return next.run(request, extensions).await;
        }
        let served = self
            .source
            .served()
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
        self.source.invalidate(served.token);
        let Some(mut retry) = retry else {
            return Ok(response);
        };
        let refused = served.token;
        let served = self
            .source
            .served()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        if served.token == refused {
            // The source kept the token (its refusals are held back): the 401 is the answer.
            return Ok(response);
        }
        retry
            .headers_mut()
            .insert(AUTHORIZATION, served.authorization);
        next.run(retry, extensions).await
    }
}
