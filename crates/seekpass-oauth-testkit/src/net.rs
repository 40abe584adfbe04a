//! Loopback addresses for network failures: a port nobody listens on, a server that accepts
//! connections and never answers, and one that records the `Authorization` each request carried.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

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

/// `http://127.0.0.1:PORT` of a server that answers every request `204 No Content` and records the
/// `Authorization` value each carried (`None` for none), in order.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn recording_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
            let mut authorization = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization = Some(value.trim().to_owned());
                    }
                }
                line.clear();
            }
            record.lock().unwrap().push(authorization);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    (base, seen)
}
