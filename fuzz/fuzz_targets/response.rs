//! Any status, headers and body fed as the answer to a token request: the machine must not
//! panic, must end in a consistent state, and must never print the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seekpass_oauth::http::{HeaderName, HeaderValue, Response};
use seekpass_oauth::{Config, Credentials, Endpoint, Output, Time, TokenClient};

const SECRET: &str = "fuzz-secret-Qx7";

fuzz_target!(|data: &[u8]| {
    let Some((&[hi, lo, headers_len], rest)) = data.split_first_chunk::<3>() else { return };
    let status = u16::from_be_bytes([hi, lo]) % 1000;
    let split = usize::from(headers_len).min(rest.len());
    let (header_bytes, body) = rest.split_at(split);

    let mut response = Response::new(body.to_vec());
    if let Ok(s) = seekpass_oauth::http::StatusCode::from_u16(status.max(100)) {
        *response.status_mut() = s;
    }
    for line in header_bytes.split(|b| *b == b'\n') {
        let mut parts = line.splitn(2, |b| *b == b':');
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else { continue };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            response.headers_mut().append(n, v);
        }
    }

    let config = Config::builder(Endpoint::staging(), Credentials::new("fuzz", SECRET))
        .build()
        .expect("valid configuration");
    let mut client = TokenClient::new(config, Time::ZERO);
    client.token(Time::ZERO);
    let Output::Transmit(t) = client.poll(Time::ZERO) else { panic!("no request") };
    client
        .handle_response(t.id(), response, Time::from_millis(5))
        .expect("the answer to the request in flight is taken");
    let mut now = Time::from_millis(5);
    for _ in 0..100 {
        match client.poll(now) {
            Output::Event(e) => assert!(!format!("{e:?}").contains(SECRET)),
            Output::Transmit(_) => panic!("a request straight after an answer"),
            Output::Timeout(at) => {
                assert!(at > now);
                now = at;
                break;
            }
            Output::Idle => break,
        }
    }
    let state = format!("{:?} {:?}", client.state(now), client);
    assert!(!state.contains(SECRET));
});
