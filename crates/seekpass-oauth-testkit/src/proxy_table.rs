//! Where a token request goes under each proxy environment, as curl documents and does it: one
//! table that the resolver (`seekpass_oauth_driver::proxy`), both shipped senders, the command
//! and `curl` itself are all checked against, and a loopback lab of four recording proxies and
//! two direct targets to check them on.
//!
//! In [`CASES`], a variable's value `@A` stands for proxy A's URL (`http://127.0.0.1:PORT`),
//! `@A-bare` for the same without a scheme, anything else is taken as written. A base URL's
//! `{v4}` and `{v6}` stand for the lab's direct targets on `127.0.0.1` and `[::1]`; other hosts
//! are under `.invalid` (RFC 6761), which never resolves, so a request that goes direct to one
//! reaches nobody.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::env::PROXY_VARIABLES;

/// Where a request went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Straight to the host.
    Direct,
    /// Through the named proxy (`'A'` to `'D'`).
    Proxy(char),
}

/// One row: the variables set (every other proxy variable unset), the base URL, where curl goes.
#[derive(Clone, Copy, Debug)]
pub struct ProxyCase {
    /// What the row shows.
    pub name: &'static str,
    /// The proxy variables set.
    pub vars: &'static [(&'static str, &'static str)],
    /// The token endpoint's base URL.
    pub base: &'static str,
    /// Where curl sends the request.
    pub via: Via,
}

const HOST: &str = "https://api.seekpass.invalid";

macro_rules! case {
    ($name:expr, [$(($k:expr, $v:expr)),* $(,)?], $base:expr, $via:expr) => {
        ProxyCase { name: $name, vars: &[$(($k, $v)),*], base: $base, via: $via }
    };
}

use Via::{Direct, Proxy};

/// The table.
pub const CASES: &[ProxyCase] = &[
    // Which variable an https URL uses.
    case!("https_proxy", [("https_proxy", "@A")], HOST, Proxy('A')),
    case!("HTTPS_PROXY", [("HTTPS_PROXY", "@A")], HOST, Proxy('A')),
    case!(
        "lower case first",
        [("https_proxy", "@A"), ("HTTPS_PROXY", "@B")],
        HOST,
        Proxy('A')
    ),
    case!(
        "the scheme's own before all_proxy",
        [("HTTPS_PROXY", "@A"), ("ALL_PROXY", "@B")],
        HOST,
        Proxy('A')
    ),
    case!("ALL_PROXY alone", [("ALL_PROXY", "@A")], HOST, Proxy('A')),
    case!(
        "all_proxy before ALL_PROXY",
        [("all_proxy", "@A"), ("ALL_PROXY", "@B")],
        HOST,
        Proxy('A')
    ),
    case!(
        "never HTTP_PROXY for https",
        [("HTTP_PROXY", "@A")],
        HOST,
        Direct
    ),
    case!(
        "never http_proxy for https",
        [("http_proxy", "@A")],
        HOST,
        Direct
    ),
    case!(
        "http_proxy skipped, all_proxy used",
        [("http_proxy", "@A"), ("ALL_PROXY", "@B")],
        HOST,
        Proxy('B')
    ),
    case!(
        "an empty variable is unset",
        [("https_proxy", ""), ("HTTPS_PROXY", "@A")],
        HOST,
        Proxy('A')
    ),
    case!(
        "a proxy without a scheme is HTTP",
        [("HTTPS_PROXY", "@A-bare")],
        HOST,
        Proxy('A')
    ),
    case!(
        "all_proxy down, HTTPS_PROXY used",
        [("HTTPS_PROXY", "@A"), ("all_proxy", "@B")],
        HOST,
        Proxy('A')
    ),
    // Which variable an http URL (loopback only) uses.
    case!(
        "http_proxy for http",
        [("http_proxy", "@A")],
        "http://{v4}",
        Proxy('A')
    ),
    case!(
        "never HTTP_PROXY (httpoxy)",
        [("HTTP_PROXY", "@A")],
        "http://{v4}",
        Direct
    ),
    case!(
        "never https_proxy for http",
        [("https_proxy", "@A")],
        "http://{v4}",
        Direct
    ),
    case!(
        "HTTP_PROXY skipped, ALL_PROXY used",
        [("HTTP_PROXY", "@A"), ("ALL_PROXY", "@B")],
        "http://{v4}",
        Proxy('B')
    ),
    // NO_PROXY with names.
    case!(
        "a domain covers its subdomains",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "seekpass.invalid")],
        HOST,
        Direct
    ),
    case!(
        "a leading dot",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", ".seekpass.invalid")],
        HOST,
        Direct
    ),
    case!(
        "a leading dot covers the domain itself",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", ".seekpass.invalid")],
        "https://seekpass.invalid",
        Direct
    ),
    case!(
        "only at a label boundary",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "pass.invalid")],
        HOST,
        Proxy('A')
    ),
    case!(
        "spaces after commas",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", "example.com, seekpass.invalid")
        ],
        HOST,
        Direct
    ),
    case!(
        "a tab after a comma",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", "example.com,\tseekpass.invalid")
        ],
        HOST,
        Direct
    ),
    case!(
        "spaces around every entry",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", " example.com , seekpass.invalid ")
        ],
        HOST,
        Direct
    ),
    case!(
        "repeated commas",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", "example.com,,seekpass.invalid")
        ],
        HOST,
        Direct
    ),
    case!(
        "case-insensitive",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "SEEKPASS.Invalid")],
        HOST,
        Direct
    ),
    case!(
        "a trailing dot",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "seekpass.invalid.")],
        HOST,
        Direct
    ),
    case!(
        "the exact host",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "api.seekpass.invalid")],
        HOST,
        Direct
    ),
    case!(
        "a sibling host is not exempt",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "www.seekpass.invalid")],
        HOST,
        Proxy('A')
    ),
    case!(
        "a lone star",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "*")],
        HOST,
        Direct
    ),
    case!(
        "no glob: *.domain is a name",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "*.seekpass.invalid")],
        HOST,
        Proxy('A')
    ),
    case!(
        "a blank without a comma ends the list",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", "example.com seekpass.invalid")
        ],
        HOST,
        Proxy('A')
    ),
    case!(
        "no_proxy before NO_PROXY",
        [
            ("HTTPS_PROXY", "@A"),
            ("no_proxy", "seekpass.invalid"),
            ("NO_PROXY", "example.com")
        ],
        HOST,
        Direct
    ),
    case!(
        "an empty no_proxy is unset",
        [
            ("HTTPS_PROXY", "@A"),
            ("no_proxy", ""),
            ("NO_PROXY", "seekpass.invalid")
        ],
        HOST,
        Direct
    ),
    case!(
        "NO_PROXY covers ALL_PROXY",
        [("ALL_PROXY", "@A"), ("NO_PROXY", "seekpass.invalid")],
        HOST,
        Direct
    ),
    case!(
        "NO_PROXY covers http_proxy",
        [("http_proxy", "@A"), ("NO_PROXY", "127.0.0.1")],
        "http://{v4}",
        Direct
    ),
    // NO_PROXY with addresses.
    case!(
        "an IPv4 address",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "127.0.0.1")],
        "https://{v4}",
        Direct
    ),
    case!(
        "an IPv4 range",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "127.0.0.0/8")],
        "https://{v4}",
        Direct
    ),
    case!(
        "a /32",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "127.0.0.1/32")],
        "https://{v4}",
        Direct
    ),
    case!(
        "another IPv4 range",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "10.0.0.0/8")],
        "https://{v4}",
        Proxy('A')
    ),
    case!(
        "a name never matches an address",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "localhost")],
        "https://{v4}",
        Proxy('A')
    ),
    case!(
        "the usual list",
        [
            ("HTTPS_PROXY", "@A"),
            ("NO_PROXY", "localhost, 127.0.0.1, ::1")
        ],
        "https://{v4}",
        Direct
    ),
    case!(
        "an IPv6 address",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "::1")],
        "https://{v6}",
        Direct
    ),
    case!(
        "an IPv6 range",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "::/120")],
        "https://{v6}",
        Direct
    ),
    case!(
        "another IPv6 range",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "fd00::/8")],
        "https://{v6}",
        Proxy('A')
    ),
    case!(
        "IPv4 entries do not cover IPv6",
        [("HTTPS_PROXY", "@A"), ("NO_PROXY", "127.0.0.1")],
        "https://{v6}",
        Proxy('A')
    ),
];

/// The rows where curl 7.88.1 (Debian 12's package) goes elsewhere than curl's documentation
/// and current code, where that curl goes, and why. The table, the resolver and the senders
/// follow the documentation and the current code.
pub const CURL_7_88_DIFFERS: &[(&str, Via, &str)] = &[
    (
        "an IPv6 range",
        Proxy('A'),
        "curl 7.88.1 compares an IPv6 host, its brackets removed, as a name, so no range matches it",
    ),
    (
        "a blank without a comma ends the list",
        Direct,
        "curl 7.88.1 reads a blank as a separator; curl's current code stops the list there",
    ),
];

impl ProxyCase {
    /// Where curl 7.88.1 goes for this row.
    #[must_use]
    pub fn curl_7_88(&self) -> ProxyCase {
        match CURL_7_88_DIFFERS
            .iter()
            .find(|(name, _, _)| *name == self.name)
        {
            Some((_, via, _)) => ProxyCase { via: *via, ..*self },
            None => *self,
        }
    }
}

/// Who saw a connection in the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Party {
    Proxy(char),
    Target,
}

type Seen = Arc<Mutex<Vec<(Party, String)>>>;

/// Four recording proxies (A to D), each answering `502` to whatever it is asked, and two direct
/// targets (`127.0.0.1` and `[::1]`) that record a connection and close it. They live as long
/// as the process.
pub struct ProxyLab {
    proxies: Vec<(char, SocketAddr)>,
    v4: SocketAddr,
    v6: SocketAddr,
    seen: Seen,
}

impl ProxyLab {
    /// Starts the lab on loopback.
    ///
    /// # Errors
    ///
    /// When a loopback port (IPv4 or IPv6) cannot be bound.
    pub fn start() -> std::io::Result<ProxyLab> {
        let seen = Seen::default();
        let mut proxies = Vec::new();
        for name in ['A', 'B', 'C', 'D'] {
            proxies.push((name, listen("127.0.0.1:0", Party::Proxy(name), &seen)?));
        }
        let v4 = listen("127.0.0.1:0", Party::Target, &seen)?;
        let v6 = listen("[::1]:0", Party::Target, &seen)?;
        Ok(ProxyLab {
            proxies,
            v4,
            v6,
            seen,
        })
    }

    /// The value of every proxy variable for `case`: `Some` for those it sets, `None` for
    /// those to unset.
    #[must_use]
    pub fn env(&self, case: &ProxyCase) -> Vec<(&'static str, Option<String>)> {
        PROXY_VARIABLES
            .iter()
            .map(|&name| {
                let value = case
                    .vars
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| self.value(v));
                (name, value)
            })
            .collect()
    }

    fn value(&self, written: &str) -> String {
        for (name, addr) in &self.proxies {
            if written == format!("@{name}") {
                return format!("http://{addr}");
            }
            if written == format!("@{name}-bare") {
                return addr.to_string();
            }
        }
        written.to_owned()
    }

    /// The base URL of `case`, with the lab's targets filled in.
    #[must_use]
    pub fn base(&self, case: &ProxyCase) -> String {
        case.base
            .replace("{v4}", &self.v4.to_string())
            .replace("{v6}", &self.v6.to_string())
    }

    /// Where the request `case` just made went, compared with the table: `Err` says what
    /// happened instead. Clears the record for the next case.
    ///
    /// # Errors
    ///
    /// When the request went elsewhere than the table says, or a direct request to a lab
    /// target never reached it.
    pub fn check(&self, case: &ProxyCase) -> Result<(), String> {
        let seen = std::mem::take(&mut *self.seen.lock().unwrap());
        let parties: Vec<Party> = seen.iter().map(|(p, _)| *p).collect();
        let proxies: Vec<char> = parties
            .iter()
            .filter_map(|p| match p {
                Party::Proxy(c) => Some(*c),
                Party::Target => None,
            })
            .collect();
        let lab_target = case.base.contains("{v4}") || case.base.contains("{v6}");
        let ok = match case.via {
            Via::Proxy(name) => !proxies.is_empty() && proxies.iter().all(|c| *c == name),
            Via::Direct => proxies.is_empty() && (!lab_target || parties.contains(&Party::Target)),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{:?}: expected {:?}, seen {seen:?} (vars {:?}, base {})",
                case.name, case.via, case.vars, case.base
            ))
        }
    }
}

impl ProxyLab {
    /// Makes the request of every row (as `expected` has it) with `request`, given the row and
    /// the value of every proxy variable for it (`None`: unset); the rows that went elsewhere.
    pub fn wrong_rows(
        &self,
        expected: impl Fn(&ProxyCase) -> ProxyCase,
        mut request: impl FnMut(&ProxyCase, &[(&'static str, Option<String>)]),
    ) -> Vec<String> {
        let mut wrong = Vec::new();
        for case in CASES.iter().map(expected) {
            request(&case, &self.env(&case));
            if let Err(e) = self.check(&case) {
                wrong.push(e);
            }
        }
        wrong
    }
}

/// Fails, listing them, when any row went elsewhere than the table says.
///
/// # Panics
///
/// When `wrong` is not empty.
pub fn assert_none_wrong(wrong: &[String]) {
    assert!(
        wrong.is_empty(),
        "{} of {} rows:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}

/// Sets this process's proxy variables as `env` has them.
pub fn set_process_env(env: &[(&'static str, Option<String>)]) {
    for (name, value) in env {
        match value {
            Some(value) => std::env::set_var(name, value),
            None => std::env::remove_var(name),
        }
    }
}

/// A listener that records who it is and the first line of what it was sent.
fn listen(addr: &str, party: Party, seen: &Seen) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let seen = Arc::clone(seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let Ok(read_half) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(read_half);
            let mut first = String::new();
            if matches!(party, Party::Proxy(_)) {
                let _ = reader.read_line(&mut first);
                seen.lock()
                    .unwrap()
                    .push((party, first.trim_end().to_owned()));
                // The rest of the head, then a refusal: the case is decided.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            } else {
                // A direct connection: recorded before anything is read, then closed.
                seen.lock()
                    .unwrap()
                    .push((party, String::from("(connected)")));
            }
        }
    });
    Ok(local)
}
