//! Whether a redirect from the token endpoint is followed (RFC 9110 §15.4).
//!
//! The official guide's `curl -L` follows every redirect. This crate follows only those that
//! keep the credentials where they were configured to go:
//!
//! | answer | `curl -L` | this crate |
//! |---|---|---|
//! | 307/308 to the same origin (scheme, host, port) | re-sends the POST | re-sends the same POST, at most 3 hops, loops refused |
//! | 301/302/303 | turns the POST into a GET without the body | refuses: permanent error naming the `Location` |
//! | any redirect to another origin | follows, re-sending the form body with the client secret (307/308) | refuses |
//! | https → http | follows, in clear | refuses |

use core::fmt;

use http::{StatusCode, Uri};

/// The most redirects followed for one token request.
pub(crate) const MAX_HOPS: usize = 3;

/// Why a redirect was not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedirectRefusal {
    /// 301, 302 or 303: following would turn the POST into a GET.
    MethodChange,
    /// A 3xx that is not a redirect to follow (300, 304, 305, ...).
    NotARedirect,
    /// No `Location` header.
    MissingLocation,
    /// A `Location` that is not a URI.
    InvalidLocation,
    /// To another scheme, host or port: the credentials would go somewhere new.
    OtherOrigin,
    /// From https to http: the credentials would travel in clear.
    Downgrade,
    /// More than three redirects for one request.
    TooManyHops,
    /// A redirect back to a URL already visited.
    Loop,
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectRefusal::MethodChange => {
                "following it would turn the POST into a GET without credentials (what curl -L does)"
            }
            RedirectRefusal::NotARedirect => "this status is not a redirect that can be followed",
            RedirectRefusal::MissingLocation => "it has no Location header",
            RedirectRefusal::InvalidLocation => "its Location is not a valid URI",
            RedirectRefusal::OtherOrigin => {
                "it leads to another origin, where curl -L would send the client secret"
            }
            RedirectRefusal::Downgrade => {
                "it leads from https to http, where curl -L would send the client secret in clear"
            }
            RedirectRefusal::TooManyHops => "more than 3 redirects for one token request",
            RedirectRefusal::Loop => "it leads back to a URL already visited",
        })
    }
}

/// The URI to re-send the token request to, or why not.
pub(crate) fn follow(
    status: StatusCode,
    location: Option<&str>,
    current: &Uri,
    visited: &[Uri],
) -> Result<Uri, RedirectRefusal> {
    match status.as_u16() {
        307 | 308 => {}
        301..=303 => return Err(RedirectRefusal::MethodChange),
        _ => return Err(RedirectRefusal::NotARedirect),
    }
    let location = location.ok_or(RedirectRefusal::MissingLocation)?;
    let target = resolve(location.trim(), current).ok_or(RedirectRefusal::InvalidLocation)?;
    let scheme = |u: &Uri| u.scheme_str().unwrap_or_default().to_ascii_lowercase();
    if scheme(current) == "https" && scheme(&target) == "http" {
        return Err(RedirectRefusal::Downgrade);
    }
    if !same_origin(current, &target) {
        return Err(RedirectRefusal::OtherOrigin);
    }
    if visited.len() > MAX_HOPS {
        return Err(RedirectRefusal::TooManyHops);
    }
    if visited.contains(&target) {
        return Err(RedirectRefusal::Loop);
    }
    Ok(target)
}

/// `location` resolved against `base` (RFC 3986 §5.2, for the forms servers send: absolute,
/// network-path, absolute-path and relative-path references). The fragment is dropped.
fn resolve(location: &str, base: &Uri) -> Option<Uri> {
    let location = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let joined = if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.contains("://") {
        location.to_owned()
    } else if location.is_empty() {
        return None;
    } else {
        let dir = base.path().rsplit_once('/').map_or("", |(dir, _)| dir);
        format!("{scheme}://{authority}{dir}/{location}")
    };
    let uri: Uri = joined.parse().ok()?;
    uri.authority()?;
    Some(uri)
}

fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().or_else(|| match u.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
            Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
            _ => None,
        })
    };
    let host = |u: &Uri| u.host().map(str::to_ascii_lowercase);
    a.scheme_str().map(str::to_ascii_lowercase) == b.scheme_str().map(str::to_ascii_lowercase)
        && host(a) == host(b)
        && port(a) == port(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://app.seekpass-staging.com/api/partner/v1/oauth/token.json";

    fn go(status: u16, location: &str) -> Result<String, RedirectRefusal> {
        let base: Uri = BASE.parse().unwrap();
        follow(
            StatusCode::from_u16(status).unwrap(),
            Some(location),
            &base,
            std::slice::from_ref(&base),
        )
        .map(|u| u.to_string())
    }

    #[test]
    fn default_ports_are_the_same_origin_as_explicit_ones() {
        let same = |a: &str, b: &str| same_origin(&a.parse().unwrap(), &b.parse().unwrap());
        assert!(same("http://127.0.0.1/a", "http://127.0.0.1:80/b"));
        assert!(same("https://h.example/a", "https://h.example:443/b"));
        assert!(!same("http://127.0.0.1/a", "http://127.0.0.1:443/b"));
        assert!(!same("https://h.example/a", "https://h.example:80/b"));
        assert!(!same("https://h.example/a", "http://h.example:443/b"));
    }

    #[test]
    fn same_origin_307_and_308_are_followed_with_every_reference_form() {
        let same = "https://app.seekpass-staging.com/api/partner/v1/oauth/token";
        assert_eq!(go(307, same).as_deref(), Ok(same));
        assert_eq!(go(308, "/api/partner/v1/oauth/token").as_deref(), Ok(same));
        assert_eq!(go(308, "token").as_deref(), Ok(same));
        assert_eq!(
            go(
                308,
                "//app.seekpass-staging.com/api/partner/v1/oauth/token#x"
            )
            .as_deref(),
            Ok(same)
        );
        assert_eq!(
            go(
                307,
                "https://APP.seekpass-staging.com:443/api/partner/v1/oauth/token"
            )
            .as_deref(),
            Ok("https://APP.seekpass-staging.com:443/api/partner/v1/oauth/token")
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(go(301, "/x"), Err(RedirectRefusal::MethodChange));
        assert_eq!(go(302, "/x"), Err(RedirectRefusal::MethodChange));
        assert_eq!(go(303, "/x"), Err(RedirectRefusal::MethodChange));
        assert_eq!(go(300, "/x"), Err(RedirectRefusal::NotARedirect));
        assert_eq!(go(304, "/x"), Err(RedirectRefusal::NotARedirect));
        assert_eq!(
            go(307, "https://evil.example/token"),
            Err(RedirectRefusal::OtherOrigin)
        );
        assert_eq!(
            go(307, "https://app.seekpass-staging.com:8443/t"),
            Err(RedirectRefusal::OtherOrigin)
        );
        assert_eq!(
            go(308, "http://app.seekpass-staging.com/t"),
            Err(RedirectRefusal::Downgrade)
        );
        assert_eq!(
            go(308, "http://127.0.0.1/t"),
            Err(RedirectRefusal::Downgrade)
        );
        assert_eq!(go(307, BASE), Err(RedirectRefusal::Loop));
        assert_eq!(
            go(307, "https://exa mple/"),
            Err(RedirectRefusal::InvalidLocation)
        );
        assert_eq!(go(307, ""), Err(RedirectRefusal::InvalidLocation));
        let base: Uri = BASE.parse().unwrap();
        assert_eq!(
            follow(StatusCode::TEMPORARY_REDIRECT, None, &base, &[]),
            Err(RedirectRefusal::MissingLocation)
        );
    }

    #[test]
    fn loopback_http_to_the_same_origin_is_followed() {
        let base: Uri = "http://127.0.0.1:3000/oauth/token".parse().unwrap();
        let to = follow(
            StatusCode::PERMANENT_REDIRECT,
            Some("/oauth/token.json"),
            &base,
            std::slice::from_ref(&base),
        );
        assert_eq!(
            to.unwrap().to_string(),
            "http://127.0.0.1:3000/oauth/token.json"
        );
        let other_port = follow(
            StatusCode::PERMANENT_REDIRECT,
            Some("http://127.0.0.1:3001/t"),
            &base,
            &[],
        );
        assert_eq!(other_port, Err(RedirectRefusal::OtherOrigin));
    }

    #[test]
    fn at_most_three_hops() {
        let base: Uri = BASE.parse().unwrap();
        let visited: Vec<Uri> = (0..4)
            .map(|i| {
                format!("https://app.seekpass-staging.com/{i}")
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            follow(
                StatusCode::TEMPORARY_REDIRECT,
                Some("/next"),
                &base,
                &visited
            ),
            Err(RedirectRefusal::TooManyHops)
        );
        assert!(follow(
            StatusCode::TEMPORARY_REDIRECT,
            Some("/next"),
            &base,
            &visited[..3]
        )
        .is_ok());
    }
}
