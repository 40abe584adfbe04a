//! The client secret and access tokens are wiped from memory when the values holding them are
//! dropped: a global allocator looks into every heap block as it is freed and counts the ones
//! that still hold the secret, its Basic form, or a token.
//!
//! One test function, so no other test's allocations run while the scanner is armed.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use seekpass_oauth::http::{header, Response};
use seekpass_oauth::wire::{encode_request, Connection};
use seekpass_oauth::{
    ClientAuth, Config, Credentials, Endpoint, Output, PoolLimits, PoolOutput, Scope, Share,
    StoreAnswer, StoreCommand, StoredValue, Time, TokenClient, TokenPool, Transmit,
};
use zeroize::Zeroize;

const CLIENT_ID: &str = "demo-client";
const SECRET: &str = "Sx7-wipe-me-secret-4d1c";
/// base64("demo-client:" + SECRET), as sent with `client_secret_basic`.
const BASIC: &str = "ZGVtby1jbGllbnQ6U3g3LXdpcGUtbWUtc2VjcmV0LTRkMWM=";
const TOKENS: [&str; 2] = ["Tk9-wipe-me-token-77ab0e", "Tk9-wipe-me-token-second"];

const MARKERS: [&str; 4] = [SECRET, BASIC, TOKENS[0], TOKENS[1]];
static FOUND: [AtomicUsize; 4] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];
static ARMED: AtomicBool = AtomicBool::new(false);

struct Scanning;

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }

    // `realloc` is left to the default, which frees the old block through `dealloc`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            // SAFETY: the block is still allocated, `layout.size()` bytes long and ours to read
            // until it is handed back below.
            let block = std::slice::from_raw_parts(ptr, layout.size());
            for (marker, found) in MARKERS.iter().zip(&FOUND) {
                if block.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                    found.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Scanning = Scanning;

/// A response body the test wipes itself: the caller owns what it feeds the machine.
struct WipedBody(Vec<u8>);

impl AsRef<[u8]> for WipedBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for WipedBody {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

fn body(parts: &[&str]) -> WipedBody {
    let mut bytes = Vec::with_capacity(512);
    for part in parts {
        bytes.extend_from_slice(part.as_bytes());
    }
    WipedBody(bytes)
}

fn answer(status: u16, parts: &[&str]) -> Response<WipedBody> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body(parts))
        .unwrap()
}

fn success(token: &str) -> Response<WipedBody> {
    answer(
        200,
        &[
            r#"{"access_token":""#,
            token,
            r#"","token_type":"Bearer","expires_in":7200,"scope":"write.education"}"#,
        ],
    )
}

fn transmit(client: &mut TokenClient, now: Time) -> Transmit {
    for _ in 0..10 {
        match client.poll(now) {
            Output::Transmit(t) => return t,
            Output::Event(_) => {}
            other => panic!("expected a request, got {other:?}"),
        }
    }
    panic!("no request")
}

/// A whole life: a request, the server echoing the secret in an error, a token, its use, an
/// invalidation and a second token, a reconfiguration, and the machine dropped.
fn life(auth: ClientAuth) {
    // Every scope, so the form grows past the secret while it is written.
    let config = Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
        .scopes(Scope::KNOWN)
        .client_auth(auth)
        .build()
        .unwrap();
    let mut client = TokenClient::new(config, Time::ZERO);
    assert!(client.token(Time::ZERO).is_none());

    let t = transmit(&mut client, Time::ZERO);
    // Encoded for the wire as a transport would, and wiped after sending as the drivers do.
    let mut bytes = encode_request(t.request(), Connection::Close).unwrap();
    bytes.zeroize();
    drop(bytes);
    let echo = answer(
        401,
        &[
            r#"{"error":"invalid_client","error_description":"no client with secret "#,
            SECRET,
            r#""}"#,
        ],
    );
    client.handle_response(t.id(), echo, Time::ZERO).unwrap();
    drop(t);

    let now = Time::from_secs(400);
    assert!(client.token(now).is_none());
    let t = transmit(&mut client, now);
    client
        .handle_response(t.id(), success(TOKENS[0]), now)
        .unwrap();
    drop(t);
    let token = client.token(now).expect("a token").clone();
    assert_eq!(token.access_token().expose_secret(), TOKENS[0]);
    assert!(token
        .authorization()
        .as_bytes()
        .ends_with(TOKENS[0].as_bytes()));
    assert!(client.invalidate(token.id(), now));
    drop(token);

    let now = Time::from_secs(402);
    assert!(client.token(now).is_none());
    let t = transmit(&mut client, now);
    client
        .handle_response(t.id(), success(TOKENS[1]), now)
        .unwrap();
    drop(t);
    let header = client.authorization(now).expect("a token").clone();
    assert!(header.is_sensitive());
    drop(header);

    let config = client.config().clone();
    let changed = Config::builder(Endpoint::staging(), config.credentials().clone())
        .scope(Scope::WRITE_ENGLISH_PROFICIENCY)
        .client_auth(auth)
        .build()
        .unwrap();
    drop(config);
    client.reconfigure(changed, now);
    drop(client);
}

/// A stored value for `token`, built in one buffer sized up front (so no copy is left behind
/// by growing it), with format version `v`.
fn stored(token: &str, v: u8) -> StoredValue {
    let mut json = String::with_capacity(256);
    for part in [
        r#"{"v":"#,
        if v == 1 { "1" } else { "2" },
        r#","client_id":"demo-client","access_token":""#,
        token,
        r#"","scope":"write.education","lifetime_ms":7200000,"lifetime_source":"expires_in"}"#,
    ] {
        json.push_str(part);
    }
    StoredValue::new(json.into_bytes())
}

/// Sharing: a token fetched and written to the store, a value from another version refused, a
/// stored token adopted, and everything dropped.
fn shared_life() {
    let config = Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
        .share(Share::new())
        .build()
        .unwrap();
    let now = Time::ZERO;
    let mut writer = TokenClient::new(config.clone(), now);
    writer.token(now);
    let mut written = Vec::new();
    for _ in 0..16 {
        match writer.poll(now) {
            Output::Store(op) => {
                let (id, command) = op.into_parts();
                let answer = match &command {
                    StoreCommand::Read { .. } => StoreAnswer::Missing,
                    _ => StoreAnswer::Done,
                };
                writer.handle_store(id, Ok(answer), now).unwrap();
                written.push(command);
            }
            Output::Transmit(t) => {
                writer
                    .handle_response(t.id(), success(TOKENS[0]), now)
                    .unwrap();
            }
            Output::Event(_) => {}
            Output::Timeout(_) | Output::Idle => break,
        }
    }
    assert!(written
        .iter()
        .any(|c| matches!(c, StoreCommand::Write { .. })));
    drop(written);
    drop(writer);

    let mut reader = TokenClient::new(config, now);
    for (second, value) in [(0, stored(TOKENS[1], 2)), (1, stored(TOKENS[1], 1))] {
        // The first value is refused and the lock found taken: the second read comes later.
        let now = Time::from_secs(second);
        reader.token(now);
        loop {
            match reader.poll(now) {
                Output::Store(op) => {
                    let answer = match op.command() {
                        StoreCommand::Read { .. } => StoreAnswer::Found {
                            value: value.clone(),
                            ttl: Some(std::time::Duration::from_secs(3600)),
                        },
                        _ => StoreAnswer::Refused,
                    };
                    reader.handle_store(op.id(), Ok(answer), now).unwrap();
                }
                Output::Transmit(_) | Output::Timeout(_) | Output::Idle => break,
                Output::Event(_) => {}
            }
        }
    }
    let now = Time::from_secs(1);
    let adopted = reader
        .token(now)
        .expect("the stored token, adopted")
        .clone();
    assert_eq!(adopted.access_token().expose_secret(), TOKENS[1]);
    drop(adopted);
    drop(reader);
}

/// A pool of one entry: key 1 fetches a token and is evicted when key 2 is asked for; key 2
/// fetches one and is forgotten; the pool is dropped.
fn pool_life() {
    let mut pool = TokenPool::new(PoolLimits::default().max_entries(1));
    let now = Time::ZERO;
    for (key, token) in [(1u32, TOKENS[0]), (2, TOKENS[1])] {
        assert!(pool.token(&key, now).token().is_none());
        loop {
            match pool.poll(now) {
                PoolOutput::Resolve { key } => {
                    let config =
                        Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
                            .build()
                            .unwrap();
                    pool.resolved(&key, Some(config), now).unwrap();
                }
                PoolOutput::Transmit { key, transmit } => {
                    pool.handle_response(&key, transmit.id(), success(token), now)
                        .unwrap();
                }
                PoolOutput::Timeout(_) | PoolOutput::Idle => break,
                _ => {}
            }
        }
        let found = pool
            .token(&key, now)
            .token()
            .expect("a token")
            .access_token();
        assert_eq!(found.expose_secret(), token);
    }
    assert!(pool.state(&1, now).is_none(), "key 1 was evicted");
    assert!(pool.forget(&2));
    assert!(pool.is_empty());
    drop(pool);
}

fn scan(f: impl FnOnce()) -> Vec<usize> {
    for found in &FOUND {
        found.store(0, Ordering::SeqCst);
    }
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    FOUND.iter().map(|f| f.load(Ordering::SeqCst)).collect()
}

#[test]
fn secrets_and_tokens_do_not_outlive_their_values() {
    // The scanner itself: a plain `String` holding the secret is freed as it was, and seen.
    let plain = scan(|| drop(std::hint::black_box(String::from(SECRET))));
    assert_eq!(plain, [1, 0, 0, 0], "the scanner sees an unwiped copy");

    for auth in [
        ClientAuth::SecretPost,
        ClientAuth::SecretBasic,
        ClientAuth::SecretBasicUnencoded,
    ] {
        let found = scan(|| life(auth));
        assert_eq!(
            found,
            [0, 0, 0, 0],
            "{auth:?}: freed blocks still holding [secret, Basic credentials, token 1, token 2]"
        );
    }
    let found = scan(shared_life);
    assert_eq!(
        found,
        [0, 0, 0, 0],
        "sharing: freed blocks still holding [secret, Basic credentials, token 1, token 2]"
    );
    let found = scan(pool_life);
    assert_eq!(
        found,
        [0, 0, 0, 0],
        "a pool's evicted and forgotten entries: freed blocks still holding [secret, Basic credentials, token 1, token 2]"
    );
}
