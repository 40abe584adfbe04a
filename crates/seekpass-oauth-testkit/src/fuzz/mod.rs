//! The properties the fuzz targets check, shared with `tests/fuzz_corpus.rs`, which replays every
//! committed corpus and regression input under a plain `cargo test`.

pub mod model;
pub mod pool;
pub mod share;

use seekpass_oauth::http::{HeaderName, HeaderValue, Response, StatusCode};
use seekpass_oauth::wire::{Decoded, Limits, ResponseDecoder};
use seekpass_oauth::{Config, Credentials, Endpoint, Output, Time, TokenClient};

const SECRET: &str = "fuzz-secret-Qx7";

/// Target `response`: bytes 0-1 are the status, byte 2 the length of a header block
/// (`name:value` lines), the rest the body. Fed as the answer to a token request, the machine
/// must not panic, must settle, and must never print the secret.
pub fn response(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let (head, rest) = data.split_at(3);
    let (hi, lo, headers_len) = (head[0], head[1], head[2]);
    let status = u16::from_be_bytes([hi, lo]) % 1000;
    let split = usize::from(headers_len).min(rest.len());
    let (header_bytes, body) = rest.split_at(split);

    let mut response = Response::new(body.to_vec());
    if let Ok(s) = StatusCode::from_u16(status.max(100)) {
        *response.status_mut() = s;
    }
    for line in header_bytes.split(|b| *b == b'\n') {
        let mut parts = line.splitn(2, |b| *b == b':');
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            response.headers_mut().append(n, v);
        }
    }

    let config = Config::builder(Endpoint::staging(), Credentials::new("fuzz", SECRET))
        .build()
        .expect("valid configuration");
    let mut client = TokenClient::new(config, Time::ZERO);
    client.token(Time::ZERO);
    let Output::Transmit(t) = client.poll(Time::ZERO) else {
        panic!("no request")
    };
    client
        .handle_response(t.id(), response, Time::from_millis(5))
        .expect("the answer to the request in flight is taken");
    let mut now = Time::from_millis(5);
    for _ in 0..100 {
        match client.poll(now) {
            Output::Event(e) => assert!(!format!("{e:?}").contains(SECRET), "{e:?}"),
            // A followed redirect continues the attempt; anything else is a request too soon.
            Output::Transmit(t) => assert_ne!(t.request().uri(), Endpoint::staging().token_uri()),
            Output::Store(op) => panic!("no store is configured, yet {op:?}"),
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
}

/// Target `decode`: byte 0 (mod 8) is how many cut points follow as bytes, the rest is fed to
/// the response decoder whole, at those cuts, and one byte at a time. No panic, bounded bodies,
/// and success must not depend on the split.
pub fn decode(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (cut_bytes, bytes) = rest.split_at(n);
    let mut cuts: Vec<usize> = cut_bytes
        .iter()
        .map(|c| usize::from(*c) * bytes.len() / 256)
        .collect();
    cuts.sort_unstable();
    let whole = decode_at(bytes, &[]);
    let pieces = decode_at(bytes, &cuts);
    let bytewise: Vec<usize> = (1..bytes.len()).collect();
    let single = decode_at(bytes, &bytewise);
    // An error may be noticed at a different moment (or as a different error) depending on the
    // split, but success must not depend on it, and must be the same success.
    assert_eq!(whole.is_ok(), pieces.is_ok(), "{whole:?} vs {pieces:?}");
    assert_eq!(whole.is_ok(), single.is_ok(), "{whole:?} vs {single:?}");
    if let (Ok(a), Ok(b), Ok(c)) = (&whole, &pieces, &single) {
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}

type Outcome = Result<(u16, Vec<u8>, usize), String>;

fn decode_at(data: &[u8], split: &[usize]) -> Outcome {
    let limits = Limits {
        max_head: 2048,
        max_headers: 16,
        max_body: 4096,
    };
    let mut decoder = ResponseDecoder::new(limits);
    let mut at = 0;
    for &cut in split.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(at, data.len());
        match decoder.feed(&data[at..cut]) {
            Ok(Decoded::Complete { response, used }) => {
                assert!(response.body().len() <= limits.max_body);
                return Ok((response.status().as_u16(), response.into_body(), at + used));
            }
            Ok(Decoded::NeedMore) => {}
            Err(e) => return Err(e.to_string()),
        }
        at = cut;
    }
    match decoder.finish() {
        Ok(r) => Ok((r.status().as_u16(), r.into_body(), data.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// Target `machine`: the token machine driven by an arbitrary run of time steps, demand, polls,
/// answers, transport failures, invalidations and reconfigurations (decoded by
/// `model::actions_from_bytes`), checked after every step against the reference model.
pub fn machine(data: &[u8]) {
    model::check_bytes(data);
}

/// Target `share`: a sharing machine and an arbitrary store (see [`share`](mod@share)).
pub fn share(data: &[u8]) {
    share::check(data);
}

/// Target `pool`: the keyed pool against independent machines, or under small limits (see
/// [`pool`](mod@pool)).
pub fn pool(data: &[u8]) {
    pool::check_bytes(data);
}
