//! The HTTP/1.1 codec: Doorkeeper's exact bytes, every framing rule, every refusal, and the
//! property that any split of the bytes decodes the same.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::path::Path;

use proptest::prelude::*;
use seekpass_oauth::http::{Request, Response, StatusCode, Version};
use seekpass_oauth::wire::{
    encode_request, Connection, DecodeError, Decoded, Limits, ResponseDecoder,
};
use seekpass_oauth::{Output, TokenState};
use seekpass_oauth_testkit::scenario::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/doorkeeper")
            .join(name),
    )
    .unwrap()
}

/// Decodes `bytes` fed in pieces of `step` bytes; returns the response and the bytes used of
/// the whole input.
fn decode_in_steps(bytes: &[u8], step: usize) -> Result<(Response<Vec<u8>>, usize), DecodeError> {
    decode_in_steps_with(Limits::default(), bytes, step)
}

/// [`decode_in_steps`] under `limits`.
fn decode_in_steps_with(
    limits: Limits,
    bytes: &[u8],
    step: usize,
) -> Result<(Response<Vec<u8>>, usize), DecodeError> {
    let mut d = ResponseDecoder::new(limits);
    let mut offset = 0;
    for piece in bytes.chunks(step.max(1)) {
        if let Decoded::Complete { response, used } = d.feed(piece)? {
            return Ok((response, offset + used));
        }
        offset += piece.len();
    }
    d.finish().map(|r| (r, bytes.len()))
}

fn decode(bytes: &[u8]) -> Result<Response<Vec<u8>>, DecodeError> {
    decode_in_steps(bytes, usize::MAX).map(|(r, _)| r)
}

#[test]
fn doorkeeper_chunked_captures_decode_in_any_split() {
    for name in [
        "wire_chunked_success.txt",
        "wire_chunked_success_post.txt",
        "wire_chunked_invalid_client.txt",
    ] {
        let bytes = fixture(name);
        let (whole, used) = decode_in_steps(&bytes, usize::MAX).unwrap();
        assert_eq!(used, bytes.len(), "{name}");
        let json: serde_json::Value = serde_json::from_slice(whole.body()).unwrap();
        assert!(json.is_object(), "{name}");
        assert!(whole.headers().get("www-authenticate").is_some() == name.contains("invalid"));
        for step in [1, 2, 3, 7, 64, 100] {
            let (r, used) = decode_in_steps(&bytes, step).unwrap();
            assert_eq!(used, bytes.len(), "{name} step {step}");
            assert_eq!(r.status(), whole.status());
            assert_eq!(r.headers(), whole.headers());
            assert_eq!(r.body(), whole.body(), "{name} step {step}");
        }
    }
}

#[test]
fn http10_close_delimited_capture() {
    let bytes = fixture("21_http10.txt");
    let mut d = ResponseDecoder::new(Limits::default());
    assert!(matches!(d.feed(&bytes).unwrap(), Decoded::NeedMore));
    let r = d.finish().unwrap();
    assert_eq!(r.version(), Version::HTTP_10);
    assert!(r.body().starts_with(b"{\"access_token\""));
}

#[test]
fn keep_alive_responses_back_to_back() {
    let one = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    let two = b"HTTP/1.1 204 No Content\r\n\r\n";
    let three = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let mut all = Vec::new();
    all.extend_from_slice(one);
    all.extend_from_slice(two);
    all.extend_from_slice(three);
    let mut d = ResponseDecoder::new(Limits::default());
    let mut rest: &[u8] = &all;
    let mut statuses = Vec::new();
    while !rest.is_empty() {
        match d.feed(rest).unwrap() {
            Decoded::Complete { response, used } => {
                statuses.push(response.status().as_u16());
                rest = &rest[used..];
            }
            Decoded::NeedMore => panic!("incomplete"),
        }
    }
    assert_eq!(statuses, [200, 204, 401]);
}

#[test]
fn chunk_extensions_and_trailers() {
    let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value;x\r\nabcd\r\n3 ; y=\"z\"\r\nefg\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n";
    assert_eq!(decode(bytes).unwrap().body(), b"abcdefg");
    let upper =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n";
    assert_eq!(decode(upper).unwrap().body(), b"0123456789");
}

#[test]
fn interim_responses_are_skipped() {
    let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    for step in [1, 5, usize::MAX] {
        let (r, used) = decode_in_steps(bytes, step).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(used, bytes.len());
    }
    assert_eq!(
        decode(b"HTTP/1.1 101 Switching Protocols\r\n\r\n").unwrap_err(),
        DecodeError::UnexpectedUpgrade
    );
}

#[test]
fn responses_without_a_body() {
    let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(decode(no_content).unwrap().body(), b"");
    let not_modified = b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(decode(not_modified).unwrap().body(), b"");
    let mut head = ResponseDecoder::for_head_request(Limits::default());
    let bytes = b"HTTP/1.1 404 Not Found\r\nContent-Length: 55\r\n\r\nNEXT";
    match head.feed(bytes).unwrap() {
        Decoded::Complete { response, used } => {
            assert_eq!(response.body(), b"");
            assert_eq!(&bytes[used..], b"NEXT");
        }
        Decoded::NeedMore => panic!(),
    }
    let empty = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(decode(empty).unwrap().status(), StatusCode::NOT_FOUND);
}

#[test]
fn refusals_each_have_their_own_error() {
    let cases: &[(&[u8], DecodeError)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
            DecodeError::ContentLengthAndTransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
            DecodeError::ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nabc",
            DecodeError::ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: two\r\n\r\n",
            DecodeError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            DecodeError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            DecodeError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            DecodeError::UnsupportedTransferCoding("gzip".into()),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            DecodeError::UnsupportedTransferCoding("gzip, chunked".into()),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            DecodeError::InvalidChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
            DecodeError::InvalidChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            DecodeError::InvalidChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
            DecodeError::MalformedChunk,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            DecodeError::Truncated,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            DecodeError::Truncated,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Le", DecodeError::Truncated),
        (b"", DecodeError::ClosedBeforeResponse),
    ];
    for (bytes, expected) in cases {
        for step in [1, usize::MAX] {
            assert_eq!(
                &decode_in_steps(bytes, step).unwrap_err(),
                expected,
                "{:?} step {step}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    for malformed in [
        &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
        b"HTTX/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: x\r\n\r\n",
    ] {
        assert!(
            matches!(decode(malformed), Err(DecodeError::MalformedHead(_))),
            "{:?}",
            String::from_utf8_lossy(malformed)
        );
    }
}

#[test]
fn a_head_exactly_at_the_limit_is_read_in_any_split() {
    let response = b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
    for limit in [response.len(), response.len() - 1] {
        let limits = Limits {
            max_head: limit,
            ..Limits::default()
        };
        for split in [1, 3, response.len()] {
            let mut d = ResponseDecoder::new(limits);
            let mut outcome = None;
            for piece in response.chunks(split) {
                match d.feed(piece) {
                    Ok(Decoded::NeedMore) => {}
                    Ok(Decoded::Complete { response, .. }) => {
                        outcome = Some(Ok(response.status().as_u16()))
                    }
                    Err(e) => {
                        outcome = Some(Err(e));
                        break;
                    }
                }
            }
            let expected = if limit == response.len() {
                Ok(204)
            } else {
                Err(DecodeError::HeadTooLarge { limit })
            };
            assert_eq!(outcome, Some(expected), "limit {limit}, pieces of {split}");
        }
    }
}

#[test]
fn errors_say_what_was_wrong() {
    for (e, text) in [
        (
            DecodeError::ContentLengthAndTransferEncoding,
            "both Content-Length and Transfer-Encoding",
        ),
        (DecodeError::HeadTooLarge { limit: 7 }, "7"),
        (DecodeError::Truncated, "closed"),
    ] {
        let shown = e.to_string();
        assert!(shown.contains(text), "{shown:?} should mention {text:?}");
    }
}

#[test]
fn limits_have_their_own_errors_and_bound_memory() {
    let limits = Limits {
        max_head: 200,
        max_headers: 4,
        max_body: 10,
    };
    let feed_all = |bytes: &[u8]| {
        let mut d = ResponseDecoder::new(limits);
        let mut result = Ok(());
        for b in bytes.chunks(1) {
            match d.feed(b) {
                Ok(Decoded::NeedMore) => {}
                Ok(Decoded::Complete { .. }) => return Ok(()),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        result.and_then(|_| d.finish().map(|_| ()))
    };
    let mut big_head = b"HTTP/1.1 200 OK\r\n".to_vec();
    big_head.extend(std::iter::repeat(b'a').take(100_000));
    assert_eq!(
        feed_all(&big_head),
        Err(DecodeError::HeadTooLarge { limit: 200 })
    );
    let many = b"HTTP/1.1 200 OK\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n";
    assert_eq!(
        feed_all(many),
        Err(DecodeError::TooManyHeaders { limit: 4 })
    );
    let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    assert_eq!(feed_all(cl), Err(DecodeError::BodyTooLarge { limit: 10 }));
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\n";
    assert_eq!(
        feed_all(chunked),
        Err(DecodeError::BodyTooLarge { limit: 10 })
    );
    let mut close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    close.extend(std::iter::repeat(b'x').take(1000));
    assert_eq!(
        feed_all(&close),
        Err(DecodeError::BodyTooLarge { limit: 10 })
    );
    let mut ext = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    ext.extend(std::iter::repeat(b'e').take(100_000));
    assert_eq!(feed_all(&ext), Err(DecodeError::InvalidChunkSize));
}

/// A response encoder for the tests, with the framing chosen by the caller.
#[derive(Clone, Debug)]
enum Framing {
    Length,
    Chunked(Vec<usize>, bool),
    Close,
}

fn encode_response(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    framing: &Framing,
) -> Vec<u8> {
    let reason = StatusCode::from_u16(status)
        .unwrap()
        .canonical_reason()
        .unwrap_or("X");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    match framing {
        Framing::Length => {
            out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes())
        }
        Framing::Chunked(..) => out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n"),
        Framing::Close => out.extend_from_slice(b"\r\n"),
    }
    match framing {
        Framing::Chunked(sizes, ext) => {
            let mut rest = body;
            let mut sizes = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).clamp(1, rest.len());
                let e = if *ext { ";a=b" } else { "" };
                out.extend_from_slice(format!("{n:x}{e}\r\n").as_bytes());
                out.extend_from_slice(&rest[..n]);
                out.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            out.extend_from_slice(b"0\r\ntrailer: t\r\n\r\n");
        }
        _ => out.extend_from_slice(body),
    }
    out
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Length),
        (prop::collection::vec(1usize..40, 1..5), any::<bool>())
            .prop_map(|(s, e)| Framing::Chunked(s, e)),
        Just(Framing::Close),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_split_decodes_the_same(
        status in prop::sample::select(vec![200u16, 201, 400, 401, 404, 429, 500, 503]),
        headers in prop::collection::vec(("x-[a-z]{1,8}", "[ -~]{0,20}"), 0..6),
        body in prop::collection::vec(any::<u8>(), 0..300),
        framing in framing(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let headers: Vec<(String, String)> = headers.into_iter().map(|(n, v)| (n, v.trim().to_owned())).collect();
        let bytes = encode_response(status, &headers, &body, &framing);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        let mut d = ResponseDecoder::new(Limits::default());
        let mut got = None;
        for w in points.windows(2) {
            match d.feed(&bytes[w[0]..w[1]]).unwrap() {
                Decoded::Complete { response, used } => {
                    prop_assert_eq!(w[0] + used, bytes.len());
                    got = Some(response);
                    break;
                }
                Decoded::NeedMore => {}
            }
        }
        let response = match got {
            Some(r) => r,
            None => {
                prop_assert!(matches!(framing, Framing::Close) || body.is_empty() && matches!(framing, Framing::Length));
                d.finish().unwrap()
            }
        };
        prop_assert_eq!(response.status().as_u16(), status);
        prop_assert_eq!(response.body(), &body);
        for (n, v) in &headers {
            prop_assert!(response.headers().get_all(n.as_str()).iter().any(|x| x.as_bytes() == v.as_bytes()));
        }
    }
}

#[test]
fn the_machine_end_to_end_through_encoder_and_decoder() {
    let mut s = Scenario::with(builder());
    s.demand();
    let Output::Transmit(t) = s.client.poll(s.now) else {
        panic!()
    };
    let (id, request) = t.into_parts();
    let bytes = encode_request(&request, Connection::Close).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with(
        "POST /api/partner/v1/oauth/token.json HTTP/1.1\r\nhost: app.seekpass-staging.com\r\n"
    ));
    assert!(text.contains("\r\nconnection: close\r\n\r\ngrant_type=client_credentials&"));
    let mut d = ResponseDecoder::new(Limits::default());
    let wire = fixture("wire_chunked_success.txt");
    let Decoded::Complete { response, .. } = d.feed(&wire).unwrap() else {
        panic!()
    };
    s.client.handle_response(id, response, s.now).unwrap();
    s.poll();
    assert!(matches!(s.state(), TokenState::Fresh(_)));
    assert_eq!(
        s.demand().unwrap().scope().to_string(),
        "write.education write.digital_identity"
    );
}

#[test]
fn encoder_snapshot_of_the_token_request() {
    let request = Request::post("https://app.seekpass-staging.com:8443/api/partner/v1/oauth/token.json")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(b"grant_type=client_credentials&client_id=demo-client&client_secret=[client_secret]&scope=write.education".to_vec())
        .unwrap();
    let keep_alive =
        String::from_utf8(encode_request(&request, Connection::KeepAlive).unwrap()).unwrap();
    let close = String::from_utf8(encode_request(&request, Connection::Close).unwrap()).unwrap();
    insta::assert_snapshot!(format!("{keep_alive}\n---\n{close}"));
}

#[test]
fn the_head_ends_at_the_first_empty_line_whatever_the_split() {
    // Found by the decode fuzz target: a bare LF after a CRLF line ends the head (as httparse
    // reads it), even when a CRLFCRLF follows later.
    let mixed = b"HTTP/1.1 200 OK\r\nA: 1\r\n\nB: 2\r\n\r\n";
    for step in [1, 2, 3, usize::MAX] {
        let mut d = ResponseDecoder::for_head_request(Limits::default());
        let mut used_total = 0;
        for piece in mixed.chunks(step) {
            if let Decoded::Complete { response, used } = d.feed(piece).unwrap() {
                assert!(response.headers().get("b").is_none(), "step {step}");
                used_total += used;
                break;
            }
            used_total += piece.len();
        }
        assert_eq!(used_total, 24, "step {step}");
    }
}

#[test]
fn empty_lines_before_the_status_line_are_skipped() {
    let bytes = b"\r\n\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    for step in [1, 4, usize::MAX] {
        let (r, used) = decode_in_steps(bytes, step).unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "step {step}");
        assert_eq!(used, bytes.len());
    }
}

/// Decodes with `limits`, whole and one byte at a time; both must agree.
fn decode_with(limits: Limits, bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let run = |step: usize| {
        decode_in_steps_with(limits, bytes, step).map(|(response, _)| response.into_body())
    };
    let whole = run(bytes.len().max(1));
    assert_eq!(whole, run(1), "the split changed the outcome");
    whole
}

#[test]
fn every_limit_is_inclusive() {
    let limits = Limits {
        max_body: 10,
        ..Limits::default()
    };
    let too_large = Err(DecodeError::BodyTooLarge { limit: 10 });
    let length = |n: usize| {
        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").into_bytes();
        r.extend(std::iter::repeat(b'x').take(n));
        r
    };
    assert_eq!(decode_with(limits, &length(10)), Ok(vec![b'x'; 10]));
    assert_eq!(decode_with(limits, &length(11)), too_large);

    let close = |n: usize| {
        let mut r = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        r.extend(std::iter::repeat(b'y').take(n));
        r
    };
    assert_eq!(decode_with(limits, &close(10)), Ok(vec![b'y'; 10]));
    assert_eq!(decode_with(limits, &close(11)), too_large);

    let chunked = |n: usize| {
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nzzzzz\r\n{:x}\r\n",
            n - 5
        )
        .into_bytes();
        r.extend(std::iter::repeat(b'z').take(n - 5));
        r.extend_from_slice(b"\r\n0\r\n\r\n");
        r
    };
    assert_eq!(decode_with(limits, &chunked(10)), Ok(vec![b'z'; 10]));
    assert_eq!(decode_with(limits, &chunked(11)), too_large);

    // A chunk-size line (extensions included) may be 1024 bytes before its CRLF.
    let size_line = |len: usize| {
        let ext = format!(";{}", "e".repeat(len - 2));
        format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1{ext}\r\na\r\n0\r\n\r\n")
            .into_bytes()
    };
    assert_eq!(
        decode_with(Limits::default(), &size_line(1024)),
        Ok(b"a".to_vec())
    );
    assert_eq!(
        decode_with(Limits::default(), &size_line(1025)),
        Err(DecodeError::InvalidChunkSize)
    );
}

#[test]
fn framing_edge_cases() {
    let body = |head: &str| decode(format!("{head}\r\n\r\n3\r\nabc\r\n0\r\n\r\n").as_bytes());
    // A trailing empty list element is still just `chunked` (RFC 9110 §5.6.1).
    assert_eq!(
        body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,").map(Response::into_body),
        Ok(b"abc".to_vec())
    );
    // HTTP/1.0 has no chunked coding, in whatever form it is written.
    for te in ["chunked", "chunked,"] {
        assert!(
            matches!(
                body(&format!("HTTP/1.0 200 OK\r\nTransfer-Encoding: {te}")),
                Err(DecodeError::UnsupportedTransferCoding(_))
            ),
            "{te}"
        );
    }
    // A length is digits only: no sign, no spaces inside.
    for cl in ["+3", "-3", "3 3", ""] {
        assert_eq!(
            decode(format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\nabc").as_bytes())
                .map(Response::into_body),
            Err(DecodeError::InvalidContentLength),
            "{cl:?}"
        );
    }
}

#[test]
fn chunk_sizes_have_at_most_sixteen_hex_digits() {
    let with_size = |size: &str| {
        decode(
            format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\na\r\n0\r\n\r\n"
            )
            .as_bytes(),
        )
        .map(Response::into_body)
    };
    assert_eq!(with_size(&format!("{:0>16}", 1)), Ok(b"a".to_vec()));
    assert_eq!(
        with_size(&format!("{:0>17}", 1)),
        Err(DecodeError::InvalidChunkSize)
    );
    for bad in ["", ";ext", "x", "1 x", "-1"] {
        assert_eq!(
            with_size(bad),
            Err(DecodeError::InvalidChunkSize),
            "{bad:?}"
        );
    }
    assert_eq!(with_size("1 ; name=value"), Ok(b"a".to_vec()));
}

#[test]
fn an_endless_head_is_refused_at_the_limit_whatever_the_pieces() {
    let limits = Limits {
        max_head: 200,
        ..Limits::default()
    };
    let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
    head.extend(std::iter::repeat(b'a').take(5_000));
    for step in [1, 7, 199, 200, 201, 1_000, head.len()] {
        let mut d = ResponseDecoder::new(limits);
        let outcome = head
            .chunks(step)
            .map(|piece| d.feed(piece))
            .find(|r| !matches!(r, Ok(Decoded::NeedMore)));
        assert_eq!(
            outcome.map(|r| r.map(|_| ())),
            Some(Err(DecodeError::HeadTooLarge { limit: 200 })),
            "pieces of {step}"
        );
    }
}
