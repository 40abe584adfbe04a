//! Which proxy a token request goes through, read from the environment exactly as curl reads
//! it. Both shipped senders (ureq and reqwest) are configured from this one resolver, so the
//! command, the blocking driver and the async driver go where `curl` would go.
//!
//! The rules (curl's documentation and its `lib/url.c` `detect_proxy` and `lib/noproxy.c`,
//! curl 7.86 and later, checked against curl 7.88.1 by the workspace's proxy table):
//!
//! - An `https` URL uses `https_proxy`, else `HTTPS_PROXY`, else `all_proxy`, else `ALL_PROXY`.
//!   `http_proxy` and `HTTP_PROXY` are never used for it.
//! - An `http` URL uses `http_proxy`, else `all_proxy`, else `ALL_PROXY`. The upper-case
//!   `HTTP_PROXY` is ignored: a CGI program receives a request's `Proxy:` header as that variable
//!   ("httpoxy").
//! - A variable set to the empty string counts as unset. A value that is not valid Unicode is
//!   ignored. A proxy written without a scheme (`proxy.corp:3128`) is an HTTP proxy.
//! - `no_proxy`, else `NO_PROXY`, lists hosts reached directly:
//!   - `*` alone: every host;
//!   - names separated by commas, with any spaces or tabs around them; a blank that is not
//!     followed by a comma ends the list (curl 7.88 reads it as a separator; curl's current
//!     code, followed here, does not);
//!   - a name matches itself and every subdomain (`example.com` and `.example.com` both match
//!     `example.com` and `api.example.com`, never `notexample.com`), ignoring case and one
//!     trailing dot;
//!   - a host written as an IP address matches only addresses and ranges: `127.0.0.1`, `::1`,
//!     `127.0.0.0/8`, `fd00::/8`. A name never matches an address (`localhost` is not
//!     `127.0.0.1`): curl compares what the URL says, not what it resolves to. (curl 7.88.1
//!     compares an IPv6 host as a name, so a range never matches it there; this follows the
//!     documentation.)

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The proxies the environment names and the hosts it exempts.
#[derive(Clone, Default)]
pub struct Proxies {
    https: Option<ProxyUrl>,
    http: Option<ProxyUrl>,
    other: Option<ProxyUrl>,
    no_proxy: Option<String>,
}

/// A proxy's URL, with a scheme. Its `Debug` hides the user information (a proxy password).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    /// The URL, user information included, for the HTTP client.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn new(value: String) -> ProxyUrl {
        if value.contains("://") {
            ProxyUrl(value)
        } else {
            ProxyUrl(format!("http://{value}"))
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&seekpass_oauth::shown_url(&self.0))
    }
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies")
            .field("https", &self.https)
            .field("http", &self.http)
            .field("no_proxy", &self.no_proxy)
            .finish_non_exhaustive()
    }
}

impl Proxies {
    /// The proxies this process's environment names, read now.
    #[must_use]
    pub fn from_env() -> Proxies {
        Proxies::from_vars(|name| std::env::var(name).ok())
    }

    /// The proxies `var` names: `var(name)` is the variable's value, `None` when unset.
    #[must_use]
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Proxies {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let all = || get("all_proxy").or_else(|| get("ALL_PROXY"));
        Proxies {
            https: get("https_proxy")
                .or_else(|| get("HTTPS_PROXY"))
                .or_else(all)
                .map(ProxyUrl::new),
            http: get("http_proxy").or_else(all).map(ProxyUrl::new),
            other: all().map(ProxyUrl::new),
            no_proxy: get("no_proxy").or_else(|| get("NO_PROXY")),
        }
    }

    /// The proxy for a request to `scheme://host…`, or `None` to connect directly. `host` is
    /// as a URL writes it: an IPv6 address in brackets or not.
    #[must_use]
    pub fn for_target(&self, scheme: &str, host: &str) -> Option<&ProxyUrl> {
        let proxy = if scheme.eq_ignore_ascii_case("https") {
            self.https.as_ref()
        } else if scheme.eq_ignore_ascii_case("http") {
            self.http.as_ref()
        } else {
            self.other.as_ref()
        }?;
        match &self.no_proxy {
            Some(list) if exempt(host, list) => None,
            _ => Some(proxy),
        }
    }

    /// Every proxy configured, for a client to check before it is used.
    pub fn configured(&self) -> impl Iterator<Item = &ProxyUrl> {
        [&self.https, &self.http, &self.other]
            .into_iter()
            .filter_map(Option::as_ref)
    }
}

/// What a host is, for matching: addresses match addresses and ranges, names match names.
enum Host<'a> {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Name(&'a str),
}

impl Host<'_> {
    fn parse(host: &str) -> Host<'_> {
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            return inner.parse().map_or(Host::Name(host), Host::V6);
        }
        if let Ok(v4) = host.parse() {
            return Host::V4(v4);
        }
        if let Ok(v6) = host.parse() {
            return Host::V6(v6);
        }
        Host::Name(host.strip_suffix('.').unwrap_or(host))
    }
}

/// Whether `list` (a `NO_PROXY` value) exempts `host`.
#[must_use]
pub fn exempt(host: &str, list: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    if list == "*" {
        return true;
    }
    let host = Host::parse(host);
    let blank = |c: char| c == ' ' || c == '\t';
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches(blank);
        let end = rest
            .find(|c: char| blank(c) || c == ',')
            .unwrap_or(rest.len());
        let (pattern, after) = rest.split_at(end);
        if !pattern.is_empty() && matches(&host, pattern) {
            return true;
        }
        rest = after.trim_start_matches(blank);
        // A blank not followed by a comma ends the list, as in curl's current code.
        match rest.strip_prefix(',') {
            Some(after_comma) => rest = after_comma.trim_start_matches(','),
            None => return false,
        }
        if rest.is_empty() {
            return false;
        }
    }
}

fn matches(host: &Host<'_>, pattern: &str) -> bool {
    match host {
        Host::Name(name) => {
            let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
            let pattern = pattern.strip_prefix('.').unwrap_or(pattern);
            name.eq_ignore_ascii_case(pattern)
                || name.len().checked_sub(pattern.len()).is_some_and(|at| {
                    at > 0
                        && name.as_bytes().get(at.saturating_sub(1)) == Some(&b'.')
                        && name
                            .get(at..)
                            .is_some_and(|tail| tail.eq_ignore_ascii_case(pattern))
                })
        }
        Host::V4(address) => {
            let (network, bits) = range(pattern);
            match (network.parse::<Ipv4Addr>(), bits) {
                (Ok(network), Some(bits @ 1..=31)) => {
                    let mask = u32::MAX
                        .checked_shl(32_u32.saturating_sub(bits))
                        .unwrap_or(0);
                    (u32::from(*address) ^ u32::from(network)) & mask == 0
                }
                (Ok(network), Some(0 | 32)) => *address == network,
                _ => false,
            }
        }
        Host::V6(address) => {
            let (network, bits) = range(pattern);
            match (network.parse::<Ipv6Addr>(), bits) {
                (Ok(network), Some(bits @ 1..=127)) => {
                    let mask = u128::MAX
                        .checked_shl(128_u32.saturating_sub(bits))
                        .unwrap_or(0);
                    (u128::from(*address) ^ u128::from(network)) & mask == 0
                }
                (Ok(network), Some(0 | 128)) => *address == network,
                _ => false,
            }
        }
    }
}

/// `pattern` split at its `/`: the address and the prefix length (`0`, "the whole address",
/// when absent or not a number, as curl's `atoi` reads it; `None` when it cannot match).
fn range(pattern: &str) -> (&str, Option<u32>) {
    let Some((network, bits)) = pattern.split_once('/') else {
        return (pattern, Some(0));
    };
    let bits = bits.trim_start_matches([' ', '\t']);
    let (negative, digits) = match bits.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, bits.strip_prefix('+').unwrap_or(bits)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let value = match digits.get(..end) {
        Some("") | None => Some(0),
        Some(d) => d.parse::<u32>().ok(),
    };
    match value {
        Some(0) => (network, Some(0)),
        Some(v) if !negative && v <= 128 => (network, Some(v)),
        _ => (network, None),
    }
}

#[cfg(test)]
mod tests;
