//! The blocking driver's `UreqSender` goes where curl goes, for every row of the proxy table
//! (`seekpass_oauth_testkit::proxy_table`), on a loopback lab of recording proxies. One test,
//! alone in its binary, because it sets the process's proxy variables.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{TokenSource, UreqSender};
use seekpass_oauth_testkit::proxy_table::{assert_none_wrong, set_process_env, ProxyLab};

/// One token request to `base` through a `UreqSender` made now (it reads the variables then).
fn request(base: &str) -> Result<(), seekpass_oauth_blocking::Error> {
    let config = Config::builder(
        Endpoint::base_url(base).unwrap(),
        Credentials::new("lab-client", "lab-secret"),
    )
    .build()
    .unwrap();
    TokenSource::builder(config)
        .max_attempts(1)
        .build(UreqSender::new())
        .authorization()
        .map(drop)
}

#[test]
fn ureq_goes_where_curl_goes() {
    let lab = ProxyLab::start().unwrap();
    let wrong = lab.wrong_rows(
        |case| *case,
        |case, env| {
            set_process_env(env);
            assert!(
                request(&lab.base(case)).is_err(),
                "{}: no lab party answers",
                case.name
            );
        },
    );
    assert_none_wrong(&wrong);

    // A proxy ureq cannot use fails the request, naming the variables and never the password;
    // it never goes direct.
    set_process_env(&[(
        "HTTPS_PROXY",
        Some("ftp://user:pa55word@proxy.corp:21".into()),
    )]);
    let error = request("https://api.seekpass.invalid")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot be used") && !error.contains("pa55word"),
        "{error}"
    );
    std::env::remove_var("HTTPS_PROXY");
}
