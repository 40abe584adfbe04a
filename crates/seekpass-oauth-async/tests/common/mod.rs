//! What the async driver's tests share: configurations for the demo server, a server that
//! never answers, and a counter of events.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, Event, Scope};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};

/// A configuration for `base` with the demo client's id and `secret`.
pub fn config(base: &str, secret: &str) -> Config {
    Config::builder(
        Endpoint::base_url(base).unwrap(),
        Credentials::new(CLIENT_ID, secret),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()
    .unwrap()
}

/// The demo server with `lifetime` tokens, and a configuration for it.
pub fn demo(lifetime: Duration) -> (DemoServer, Config) {
    let server = DemoServer::start(lifetime).unwrap();
    let config = config(&server.base_url(), CLIENT_SECRET);
    (server, config)
}

/// A loopback server that accepts connections and never answers; its base URL.
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    base
}

/// Every event, recorded.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<Event>>>);

impl Events {
    pub fn handler(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event| events.lock().unwrap().push(event.clone())
    }

    pub fn count(&self, what: impl Fn(&Event) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|e| what(e)).count()
    }
}
