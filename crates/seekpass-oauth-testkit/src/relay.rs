//! A TCP relay between a client and a real server that a test can cut: every connection through
//! it is closed at once, as a server restart or a failover would, while new ones are still
//! relayed. For checking that a client opens a broken connection again.

use std::io::copy;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A running relay; it stops with the process.
pub struct Relay {
    addr: SocketAddr,
    live: Arc<Mutex<Vec<TcpStream>>>,
    accepted: Arc<AtomicUsize>,
}

impl Relay {
    /// Relays every connection to `target` through a free loopback port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn to(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let live = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (keep, count) = (Arc::clone(&live), Arc::clone(&accepted));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (Ok(mut client_in), Ok(mut server_in)) =
                    (client.try_clone(), server.try_clone())
                else {
                    continue;
                };
                let (mut client_out, mut server_out) = (client.try_clone(), server.try_clone());
                if let Ok(mut live) = keep.lock() {
                    live.push(client);
                    live.push(server);
                }
                std::thread::spawn(move || {
                    if let Ok(out) = server_out.as_mut() {
                        let _ = copy(&mut client_in, out);
                        let _ = out.shutdown(Shutdown::Both);
                    }
                });
                std::thread::spawn(move || {
                    if let Ok(out) = client_out.as_mut() {
                        let _ = copy(&mut server_in, out);
                        let _ = out.shutdown(Shutdown::Both);
                    }
                });
            }
        });
        Relay {
            addr,
            live,
            accepted,
        }
    }

    /// `url` (`redis://user:password@host:port/db`, say) with its host and port replaced by
    /// the relay's.
    ///
    /// # Panics
    ///
    /// When `url` has no `scheme://`.
    #[must_use]
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (userinfo, host_and_path) = match rest.rsplit_once('@') {
            Some((userinfo, after)) => (format!("{userinfo}@"), after),
            None => (String::new(), rest),
        };
        let path = host_and_path.find('/').map_or("", |i| &host_and_path[i..]);
        format!("{scheme}://{userinfo}{}{path}", self.addr)
    }

    /// Its address on loopback.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections clients have opened through it.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Closes every connection through it, both ways.
    pub fn cut(&self) {
        if let Ok(mut live) = self.live.lock() {
            for stream in live.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}
