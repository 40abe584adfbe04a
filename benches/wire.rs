//! Decoding Doorkeeper's chunked success response in one feed, next to httparse's bare header
//! parse of the same bytes and to that parse turned into an `http::HeaderMap`. Run with `cargo bench --bench wire`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::wire::{Decoded, Limits, ResponseDecoder};

const WIRE: &[u8] = include_bytes!("../tests/fixtures/doorkeeper/wire_chunked_success.txt");

fn benches(c: &mut Criterion) {
    c.bench_function("wire_decode_chunked_doorkeeper", |b| {
        b.iter(|| {
            let mut decoder = ResponseDecoder::new(Limits::default());
            match decoder.feed(black_box(WIRE)) {
                Ok(Decoded::Complete { response, .. }) => black_box(response.body().len()),
                _ => unreachable!("the capture is one complete response"),
            }
        })
    });
    c.bench_function("floor_httparse_head_only", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            black_box(response.parse(black_box(WIRE)).is_ok())
        })
    });
    // What any decoder returning an `http::Response` must also pay: turning httparse's
    // borrowed headers into an owned `http::HeaderMap`.
    c.bench_function("floor_httparse_into_header_map", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            let _ = response.parse(black_box(WIRE));
            let mut map = http::HeaderMap::with_capacity(response.headers.len());
            for h in response.headers.iter() {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(h.name.as_bytes()),
                    http::HeaderValue::from_bytes(h.value),
                ) {
                    map.append(name, value);
                }
            }
            black_box(map.len())
        })
    });
}

criterion_group!(wire, benches);
criterion_main!(wire);
