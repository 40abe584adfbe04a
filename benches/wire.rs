//! Decoding Doorkeeper's chunked success response in one feed, next to httparse's bare header
//! parse of the same bytes and to that parse turned into an `http::HeaderMap`. Run with `cargo bench --bench wire`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

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
    // borrowed headers into an owned `http::HeaderMap`, values sharing one copy of the head
    // (the cheapest way `http` offers without `unsafe`).
    c.bench_function("floor_httparse_into_header_map", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            let used = match response.parse(black_box(WIRE)) {
                Ok(httparse::Status::Complete(n)) => n,
                _ => unreachable!("the capture has a complete head"),
            };
            let head = bytes::Bytes::copy_from_slice(&WIRE[..used]);
            let base = WIRE.as_ptr() as usize;
            let mut map = http::HeaderMap::with_capacity(response.headers.len());
            for h in response.headers.iter() {
                let start = h.value.as_ptr() as usize - base;
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(h.name.as_bytes()),
                    http::HeaderValue::from_maybe_shared(head.slice(start..start + h.value.len())),
                ) {
                    map.append(name, value);
                }
            }
            black_box(map.len())
        })
    });
    // Its parts, on the same 16 headers: names alone, values alone, and inserting built pairs.
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut slots);
    let _ = parsed.parse(WIRE);
    let fields: Vec<(&str, &[u8])> = parsed.headers.iter().map(|h| (h.name, h.value)).collect();
    c.bench_function("part_header_names", |b| {
        b.iter(|| {
            for (name, _) in &fields {
                let _ = black_box(http::HeaderName::from_bytes(black_box(name.as_bytes())));
            }
        })
    });
    let head = bytes::Bytes::copy_from_slice(WIRE);
    let base = WIRE.as_ptr() as usize;
    c.bench_function("part_header_values_shared", |b| {
        b.iter(|| {
            for (_, value) in &fields {
                let start = value.as_ptr() as usize - base;
                let view = head.slice(start..start + value.len());
                let _ = black_box(http::HeaderValue::from_maybe_shared(black_box(view)));
            }
        })
    });
    let pairs: Vec<(http::HeaderName, http::HeaderValue)> = fields
        .iter()
        .filter_map(|(n, v)| {
            Some((
                http::HeaderName::from_bytes(n.as_bytes()).ok()?,
                http::HeaderValue::from_bytes(v).ok()?,
            ))
        })
        .collect();
    c.bench_function("part_header_map_insert", |b| {
        b.iter(|| {
            let mut map = http::HeaderMap::with_capacity(pairs.len());
            for (name, value) in &pairs {
                map.append(name.clone(), value.clone());
            }
            black_box(map.len())
        })
    });
}

criterion_group!(wire, benches);
criterion_main!(wire);
