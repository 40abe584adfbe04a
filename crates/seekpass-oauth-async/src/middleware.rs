//! A reqwest-middleware that puts the bearer on every request to the SEEK Pass API and, when
//! the API rejects the token, invalidates it and retries the request once with a new one.

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};
use seekpass_oauth::http::Extensions;

use crate::TokenSource;

/// Adds `Authorization: Bearer …` from a [`TokenSource`] to requests for the API's origin.
///
/// When the API answers `401` for the token (RFC 6750 §3: a challenge with
/// `error="invalid_token"`, or none at all), the token is invalidated and the request is sent
/// again once with a new token, if it can be cloned (a streaming body cannot; then the `401` is
/// returned, and the token is still invalidated so the next request gets a new one). However
/// many requests meet the same `401` at once, one new token is fetched.
///
/// ```no_run
/// # async fn example(source: seekpass_oauth_async::TokenSource) -> Result<(), Box<dyn std::error::Error>> {
/// use seekpass_oauth_async::BearerAuth;
///
/// let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(BearerAuth::new(source).only_for(&"https://app.seekpass-staging.com".parse()?))
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
    /// Authorizes every request the client sends.
    #[must_use]
    pub fn new(source: TokenSource) -> BearerAuth {
        BearerAuth {
            source,
            applies_to: AppliesTo::Every,
        }
    }

    /// Authorizes only requests to `base_url`'s origin (scheme, host and port), so the token
    /// never goes anywhere else through this client. A URL without a host matches nothing.
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
        let served = self
            .source
            .served()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        retry
            .headers_mut()
            .insert(AUTHORIZATION, served.authorization);
        next.run(retry, extensions).await
    }
}
