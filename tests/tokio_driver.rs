//! The tokio driver example's shared machine: many concurrent tasks, one token request.

#[path = "../examples/common/demo_server.rs"]
#[allow(dead_code)]
mod demo_server;
#[path = "../examples/common/tokio_driver.rs"]
#[allow(dead_code)]
mod tokio_driver;

use std::time::{Duration, Instant};

use demo_server::DemoServer;
use seekpass_oauth::{Config, Credentials, Endpoint, Origin, Scope, TokenClient};
use tokio_driver::TokenSource;

fn source(server: &DemoServer, secret: &str) -> TokenSource {
    let config = Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(demo_server::CLIENT_ID, secret),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()
    .unwrap();
    let start = Instant::now();
    let origin = Origin::new(start);
    TokenSource::spawn(TokenClient::new(config, origin.time(start)), origin, 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_tasks_cause_exactly_one_token_request() {
    let server = DemoServer::start(Duration::from_secs(60)).unwrap();
    let source = source(&server, demo_server::CLIENT_SECRET);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every task got the same token");
    assert_eq!(server.token_requests(), 1);
    // And asking again while it is fresh costs nothing.
    for _ in 0..100 {
        source.authorization().await.unwrap();
    }
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_reaches_every_waiting_task_after_one_request() {
    let server = DemoServer::start(Duration::from_secs(60)).unwrap();
    let source = source(&server, "wrong-secret");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    for task in tasks {
        let gave_up = task.await.unwrap().unwrap_err();
        assert_eq!(gave_up.class, seekpass_oauth::FailureClass::Permanent);
    }
    assert_eq!(server.token_requests(), 1);
}
