//! The async driver's `ReqwestSender` goes where curl goes, for every row of the proxy table
//! (`seekpass_oauth_testkit::proxy_table`), on a loopback lab of recording proxies. One test,
//! alone in its binary, because it sets the process's proxy variables.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, TokenSource};
use seekpass_oauth_testkit::proxy_table::{assert_none_wrong, set_process_env, ProxyLab};

#[test]
fn reqwest_goes_where_curl_goes() {
    let lab = ProxyLab::start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wrong = lab.wrong_rows(
        |case| *case,
        |case, env| {
            set_process_env(env);
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
            assert!(answered.is_err(), "{}: no lab party answers", case.name);
        },
    );
    assert_none_wrong(&wrong);

    // A proxy reqwest cannot use is refused when the sender is made, naming the variables and
    // never the password: reqwest itself would skip it and connect directly.
    for bad in ["ftp://user:pa55word@proxy.corp:21", "http://user:pa55word@"] {
        set_process_env(&[("HTTPS_PROXY", Some(bad.into()))]);
        let error = ReqwestSender::new().map(drop).unwrap_err().to_string();
        assert!(
            error.contains("HTTPS_PROXY") && !error.contains("pa55word"),
            "{error}"
        );
    }
    std::env::remove_var("HTTPS_PROXY");
}
