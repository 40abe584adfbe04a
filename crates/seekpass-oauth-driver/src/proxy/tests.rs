#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::HashMap;

use seekpass_oauth_testkit::proxy_table::{Via, CASES};

use super::*;

/// The resolver's answer for a table row, with the proxies written as `http://a.lab:1` to
/// `http://d.lab:4` (names the resolver never looks up) and the lab's targets as loopback.
fn resolved(vars: &[(&str, &str)], base: &str) -> Via {
    let proxy_url = |written: &str| -> String {
        for (i, name) in ['A', 'B', 'C', 'D'].into_iter().enumerate() {
            let host = format!("{}.lab:{}", name.to_ascii_lowercase(), i + 1);
            if written == format!("@{name}") {
                return format!("http://{host}");
            }
            if written == format!("@{name}-bare") {
                return host;
            }
        }
        written.to_owned()
    };
    let env: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, proxy_url(v))).collect();
    let proxies = Proxies::from_vars(|name| env.get(name).cloned());
    let base = base
        .replace("{v4}", "127.0.0.1:9")
        .replace("{v6}", "[::1]:9");
    let uri: seekpass_oauth::http::Uri = base.parse().unwrap();
    match proxies.for_target(uri.scheme_str().unwrap(), uri.host().unwrap()) {
        None => Via::Direct,
        Some(url) => {
            let host = url.as_str().trim_start_matches("http://");
            let name = host.chars().next().unwrap().to_ascii_uppercase();
            Via::Proxy(name)
        }
    }
}

#[test]
fn every_row_of_the_table_resolves_as_curl_goes() {
    let wrong: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            let via = resolved(case.vars, case.base);
            (via != case.via).then(|| format!("{}: {via:?}, curl {:?}", case.name, case.via))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(CASES.len() >= 40);
}

#[test]
fn a_scheme_less_proxy_is_http_and_a_scheme_is_kept() {
    let proxies = Proxies::from_vars(|name| match name {
        "HTTPS_PROXY" => Some("proxy.corp:3128".into()),
        "http_proxy" => Some("socks5h://127.0.0.1:1080".into()),
        _ => None,
    });
    let https = proxies.for_target("https", "example.com").unwrap();
    assert_eq!(https.as_str(), "http://proxy.corp:3128");
    let http = proxies.for_target("HTTP", "127.0.0.1").unwrap();
    assert_eq!(http.as_str(), "socks5h://127.0.0.1:1080");
    assert_eq!(proxies.configured().count(), 2);
    assert_eq!(Proxies::from_vars(|_| None).configured().count(), 0);
    assert!(Proxies::from_vars(|_| None)
        .for_target("https", "example.com")
        .is_none());
}

#[test]
fn a_proxy_password_never_shows_in_debug() {
    let proxies = Proxies::from_vars(|name| {
        (name == "HTTPS_PROXY").then(|| "http://user:pa55word@proxy.corp:3128".into())
    });
    let shown = format!("{proxies:?}");
    assert!(
        !shown.contains("pa55word") && !shown.contains("user"),
        "{shown}"
    );
    assert!(shown.contains("proxy.corp:3128"), "{shown}");
    // The client gets the credentials.
    let url = proxies.for_target("https", "example.com").unwrap();
    assert!(url.as_str().contains("user:pa55word@"));
}

#[test]
fn addresses_match_addresses_and_ranges_only() {
    for (host, list, exempted) in [
        ("10.1.2.3", "10.0.0.0/8", true),
        ("10.1.2.3", "10.1.2.0/24", true),
        ("10.1.3.3", "10.1.2.0/24", false),
        ("10.1.2.3", "10.1.2.2/31", true),
        ("10.1.2.4", "10.1.2.2/31", false),
        // A prefix of 0, or none that reads as a number, means the whole address (curl's atoi).
        ("10.1.2.3", "0.0.0.0/0", false),
        ("10.1.2.3", "10.1.2.3/x", true),
        ("10.1.2.3", "10.0.0.0/33", false),
        ("10.1.2.3", "10.0.0.0/-8", false),
        ("10.1.2.3", "10.0.0.0/+8", true),
        ("10.1.2.3", "10.1.2.3.4", false),
        ("10.1.2.3", "example.com, 10.1.2.3", true),
        ("[2001:db8::1]", "2001:db8::/32", true),
        ("[2001:db8::1]", "2001:db9::/32", false),
        // Prefixes that end inside a byte.
        ("[2001:db8::1]", "2001:db8::/31", true),
        ("[2001:dba::1]", "2001:db8::/31", false),
        ("[2001:db8::1]", "2001:0db8:0000::1", true),
        ("[2001:db8::1]", "2001:db8::1/129", false),
        ("[::ffff:10.1.2.3]", "10.1.2.3", false),
        ("2001:db8::1", "2001:db8::/32", true),
    ] {
        assert_eq!(exempt(host, list), exempted, "{host} in {list:?}");
    }
}

#[test]
fn names_match_at_label_boundaries_ignoring_case_and_one_trailing_dot() {
    for (host, list, exempted) in [
        ("api.example.com", "example.com", true),
        ("api.example.com.", "example.com", true),
        ("API.Example.COM", "example.com", true),
        ("example.com", ".example.com", true),
        ("notexample.com", "example.com", false),
        ("example.com", "api.example.com", false),
        ("example.com", ".", false),
        ("example.com", "", false),
        ("example.com", ",,, ,", false),
        ("example.com", "*", true),
        ("example.com", " *", false),
        ("example.com", "*,other", false),
        ("", "*", false),
        // Only spaces and tabs are blanks; other whitespace is part of a name.
        ("example.com", "other\nexample.com", false),
        ("example.com", "other,\nexample.com", false),
        ("example.com", "other example.com", false),
        ("other", "other example.com", true),
        ("example.com", "other \t, ,example.com", true),
        ("a.b.c.d.example.com", "c.d.example.com", true),
    ] {
        assert_eq!(exempt(host, list), exempted, "{host:?} in {list:?}");
    }
}
