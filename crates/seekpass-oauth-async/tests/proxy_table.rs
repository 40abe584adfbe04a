//! The async driver's `ReqwestSender` goes where curl goes, for every row of the proxy table
//! (`seekpass_oauth_testkit::proxy_table`), on a loopback lab of recording proxies. One test,
//! alone in its binary, because it sets the process's proxy variables.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, TokenSource};
use seekpass_oauth_testkit::proxy_table::{ProxyLab, CASES};

#[test]
fn reqwest_goes_where_curl_goes() {
    let lab = ProxyLab::start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut wrong = Vec::new();
    for case in CASES {
        for (name, value) in lab.env(case) {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
        let config = Config::builder(
            Endpoint::base_url(&lab.base(case)).unwrap(),
            Credentials::new("lab-client", "lab-secret"),
        )
        .build()
        .unwrap();
        // Made after the variables are set: a sender reads them when it is made.
        let sender = ReqwestSender::new().unwrap();
        let answered = runtime.block_on(async {
            let source = TokenSource::builder(config).max_attempts(1).spawn(sender);
            source.authorization().await.map(drop)
        });
        assert!(
            answered.is_err(),
            "{}: no lab party answers a token",
            case.name
        );
        if let Err(e) = lab.check(case) {
            wrong.push(e);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );

    // A proxy reqwest cannot use is refused when the sender is made, naming the variables and
    // never the password: reqwest itself would skip it and connect directly.
    for name in seekpass_oauth_testkit::proxy_table::PROXY_VARIABLES {
        std::env::remove_var(name);
    }
    for bad in ["ftp://user:pa55word@proxy.corp:21", "http://user:pa55word@"] {
        std::env::set_var("HTTPS_PROXY", bad);
        let error = ReqwestSender::new().map(drop).unwrap_err().to_string();
        assert!(
            error.contains("HTTPS_PROXY") && !error.contains("pa55word"),
            "{error}"
        );
    }
    std::env::remove_var("HTTPS_PROXY");
}
