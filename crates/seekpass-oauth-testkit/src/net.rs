//! Loopback addresses for network failures: a port nobody listens on, and a server that accepts
//! connections and never answers.

use std::net::TcpListener;

/// A loopback port nobody listens on (bound, read and released): connecting is refused.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address").port()
}

/// `http://127.0.0.1:PORT` of a server that accepts every connection, holds it open and never
/// answers: a request to it meets only its deadline. The server lives as long as the process.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    base
}
