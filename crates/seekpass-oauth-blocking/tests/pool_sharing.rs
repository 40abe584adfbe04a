//! Pools on two replicas sharing every key's token through one store: the second replica
//! adopts each key's token from the store instead of asking the endpoint, and never mixes keys.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::HashSet;

use seekpass_oauth_blocking::{FileStore, SourcePool, Store};
use seekpass_oauth_testkit::pool::{shared_config, token, PoolEndpoint};
use seekpass_oauth_testkit::secrets::temp_dir;

fn replica(endpoint: &PoolEndpoint, store: impl Store, prefix: &'static str) -> SourcePool<u32> {
    let endpoint = endpoint.clone();
    SourcePool::builder(move |key: &u32| Some(shared_config(*key, prefix)))
        .store(store)
        .build(move |request, _deadline, _max_body| endpoint.answer(&request))
}

#[test]
fn a_second_replica_takes_every_keys_token_from_a_file_store() {
    let dir = temp_dir();
    let endpoint = PoolEndpoint::issuing();
    let first = replica(&endpoint, FileStore::new(dir.path().join("store")), "pool:");
    let second = replica(&endpoint, FileStore::new(dir.path().join("store")), "pool:");
    let keys = 0..20u32;
    for key in keys.clone() {
        let header = first.authorization(&key).unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            format!("Bearer {}", token(key, 1))
        );
    }
    let mut seen = HashSet::new();
    for key in keys.clone() {
        let header = second.authorization(&key).unwrap();
        assert_eq!(
            header,
            first.authorization(&key).unwrap(),
            "key {key}: the same token"
        );
        assert!(seen.insert(header), "key {key}: a token of its own");
        assert_eq!(
            endpoint.sent(key),
            1,
            "key {key}: adopted, not requested again"
        );
    }
    assert_eq!(endpoint.total(), 20);
}

#[test]
fn replicas_with_another_prefix_share_nothing() {
    let dir = temp_dir();
    let endpoint = PoolEndpoint::issuing();
    let first = replica(&endpoint, FileStore::new(dir.path().join("store")), "a:");
    let second = replica(&endpoint, FileStore::new(dir.path().join("store")), "b:");
    first.authorization(&1).unwrap();
    let header = second.authorization(&1).unwrap();
    assert_eq!(header.to_str().unwrap(), format!("Bearer {}", token(1, 2)));
    assert_eq!(endpoint.sent(1), 2);
}
