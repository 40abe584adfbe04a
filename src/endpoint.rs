//! Where token requests go.
//!
//! SEEK Pass serves the token endpoint at `{SEEK_PASS_URL}/api/partner/v1/oauth/token.json`.
//! Credentials travel in the request, so only `https` is accepted, except `http` to a loopback
//! host (`127.0.0.0/8`, `::1`, `localhost`) for local testing.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use http::Uri;

use crate::error::ConfigError;
use crate::redact::shown_url;

/// The path SEEK Pass serves the token endpoint on, below its base URL.
pub const TOKEN_PATH: &str = "/api/partner/v1/oauth/token.json";

/// The staging base URL, from the official partner guide.
pub const STAGING_URL: &str = "https://app.seekpass-staging.com";

/// The production base URL. Inferred from public material; the official guide does not state it.
/// Confirm it with SEEK Pass before relying on it.
pub const PRODUCTION_URL: &str = "https://app.seekpass.co";

/// The token endpoint: a SEEK Pass environment or any OAuth 2.0 token URL.
///
/// ```
/// use seekpass_oauth::Endpoint;
///
/// let staging = Endpoint::staging();
/// assert_eq!(staging.token_uri(), "https://app.seekpass-staging.com/api/partner/v1/oauth/token.json");
///
/// let local = Endpoint::base_url("http://127.0.0.1:3000/").unwrap();
/// assert_eq!(local.token_uri(), "http://127.0.0.1:3000/api/partner/v1/oauth/token.json");
///
/// let err = Endpoint::base_url("http://example.com").unwrap_err();
/// assert!(err.to_string().contains("https"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    token_uri: Uri,
}

impl Endpoint {
    /// SEEK Pass staging: `https://app.seekpass-staging.com`.
    #[must_use]
    pub fn staging() -> Endpoint {
        Endpoint {
            token_uri: Uri::from_static(
                "https://app.seekpass-staging.com/api/partner/v1/oauth/token.json",
            ),
        }
    }

    /// SEEK Pass production: `https://app.seekpass.co` (see [`PRODUCTION_URL`]: not confirmed by
    /// the official guide).
    #[must_use]
    pub fn production() -> Endpoint {
        Endpoint {
            token_uri: Uri::from_static("https://app.seekpass.co/api/partner/v1/oauth/token.json"),
        }
    }

    /// A SEEK Pass base URL, as the guide's `SEEK_PASS_URL`: the token path is appended.
    pub fn base_url(base: &str) -> Result<Endpoint, ConfigError> {
        let trimmed = base.trim();
        let uri = parse_secure(trimmed)?;
        if uri.query().is_some() {
            return Err(ConfigError::InvalidUrl {
                url: shown_url(trimmed),
                reason: "a base URL cannot have a query; give the full token URL instead",
            });
        }
        let joined = format!("{}{TOKEN_PATH}", trimmed.trim_end_matches('/'));
        Ok(Endpoint {
            token_uri: parse_secure(&joined)?,
        })
    }

    /// The full token URL, used as it is (other OAuth servers use other paths).
    pub fn token_url(url: &str) -> Result<Endpoint, ConfigError> {
        Ok(Endpoint {
            token_uri: parse_secure(url.trim())?,
        })
    }

    /// The URL token requests are sent to.
    #[must_use]
    pub fn token_uri(&self) -> &Uri {
        &self.token_uri
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.token_uri)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.token_uri, f)
    }
}

/// Parses an absolute URL that is safe to send credentials to.
fn parse_secure(url: &str) -> Result<Uri, ConfigError> {
    // The URL is quoted without user information or query: either can hold a password.
    let invalid = |reason| ConfigError::InvalidUrl {
        url: shown_url(url),
        reason,
    };
    if url.contains('#') {
        return Err(invalid("a token URL cannot have a fragment (#...)"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| invalid("not a valid absolute URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(invalid(
            "not an absolute URL; write it as https://host[:port][/path]",
        ));
    };
    if authority.as_str().contains('@') {
        return Err(invalid(
            "user information in the URL would be sent in clear; pass credentials separately",
        ));
    }
    if authority.host().is_empty() {
        return Err(invalid("the URL has no host"));
    }
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(uri);
    }
    if scheme.eq_ignore_ascii_case("http") {
        if is_loopback(authority.host()) {
            return Ok(uri);
        }
        return Err(invalid(
            "plain http would send the client secret in clear; use https (http is allowed only to 127.0.0.0/8, ::1 and localhost)",
        ));
    }
    Err(invalid("only https URLs are supported"))
}

/// `localhost`, an address in `127.0.0.0/8`, or `::1`.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<Ipv6Addr>().is_ok_and(|v6| v6.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_show_the_token_url() {
        let e = Endpoint::staging();
        let url = "https://app.seekpass-staging.com/api/partner/v1/oauth/token.json";
        assert_eq!(e.to_string(), url);
        assert_eq!(format!("{e:?}"), format!("Endpoint({url})"));
    }

    #[test]
    fn presets_append_the_token_path() {
        assert_eq!(
            Endpoint::staging().token_uri().to_string(),
            format!("{STAGING_URL}{TOKEN_PATH}")
        );
        assert_eq!(
            Endpoint::production().token_uri().to_string(),
            format!("{PRODUCTION_URL}{TOKEN_PATH}")
        );
        assert_eq!(
            Endpoint::base_url(STAGING_URL).unwrap(),
            Endpoint::staging()
        );
    }

    #[test]
    fn base_url_keeps_a_prefix_path_and_trims_slashes() {
        let e = Endpoint::base_url(" https://example.com/prefix// ").unwrap();
        assert_eq!(
            e.token_uri().to_string(),
            "https://example.com/prefix/api/partner/v1/oauth/token.json"
        );
    }

    #[test]
    fn token_url_is_used_verbatim() {
        let e = Endpoint::token_url("https://auth.example.com:8443/oauth2/token?x=1").unwrap();
        assert_eq!(
            e.token_uri().to_string(),
            "https://auth.example.com:8443/oauth2/token?x=1"
        );
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:3000",
            "http://127.1.2.3",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:9000",
            "HTTPS://example.com",
        ] {
            assert!(Endpoint::base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
            "ftp://127.0.0.1",
        ] {
            let err = Endpoint::base_url(bad).unwrap_err();
            assert!(matches!(err, ConfigError::InvalidUrl { .. }), "{bad}");
        }
    }

    #[test]
    fn malformed_urls_say_why() {
        let cases = [
            ("", "absolute URL"),
            ("app.seekpass-staging.com", "absolute URL"),
            ("/api/partner", "absolute URL"),
            ("https://user:pw@example.com", "user information"),
            ("https://example.com/#frag", "fragment"),
            ("https://example.com/?a=b", "query"),
            ("https://exa mple.com", "valid absolute URL"),
        ];
        for (url, says) in cases {
            let err = Endpoint::base_url(url).unwrap_err();
            assert!(err.to_string().contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn a_refused_url_is_quoted_without_its_password_or_query() {
        for url in [
            "https://id:SECRET@app.seekpass-staging.com",
            "https://:SECRET@app.seekpass-staging.com/",
            "http://id:SECRET@example.com",
            "https://app.seekpass-staging.com/?client_secret=SECRET",
            "app.seekpass-staging.com?client_secret=SECRET",
            "id:SECRET@app.seekpass-staging.com",
        ] {
            for err in [Endpoint::base_url(url), Endpoint::token_url(url)]
                .into_iter()
                .filter_map(Result::err)
            {
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains("SECRET"), "{shown}");
                assert!(shown.contains("[redacted]"), "{shown}");
            }
            assert!(Endpoint::base_url(url).is_err(), "{url}");
        }
    }
}
