//! A caller waiting for a token sleeps until something changes; it does not poll. Over a wait
//! of a second for a slow token endpoint, the waiting thread's CPU time (user and system, from
//! `/proc/thread-self/stat`, in the kernel's 10 ms ticks) stays under 100 ms; a waiter that
//! polled would spend most of the second.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug
#![cfg(target_os = "linux")]

use std::time::Duration;

use seekpass_oauth_blocking::{SourcePool, TokenSource};
use seekpass_oauth_testkit::body::{response, token};
use seekpass_oauth_testkit::pool::{config, Answer, PoolEndpoint};

/// This thread's CPU time so far, in clock ticks (utime + stime).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Runs `wait` on a thread of its own; the CPU ticks it used.
fn ticks_of(wait: impl FnOnce() + Send + 'static) -> u64 {
    std::thread::spawn(move || {
        let before = cpu_ticks();
        wait();
        cpu_ticks() - before
    })
    .join()
    .unwrap()
}

#[test]
fn a_source_caller_waiting_for_another_threads_request_sleeps() {
    let sender = |_request, _deadline, _max_body| {
        std::thread::sleep(Duration::from_secs(1));
        Ok(response(200, &token("slow-token", 7200)))
    };
    let source = TokenSource::builder(config(1)).build(sender);
    let sending = {
        let source = source.clone();
        std::thread::spawn(move || source.authorization().map(drop))
    };
    std::thread::sleep(Duration::from_millis(50));
    let ticks = ticks_of(move || drop(source.authorization().unwrap()));
    sending.join().unwrap().unwrap();
    assert!(ticks < 10, "{ticks} ticks of CPU while waiting");
}

#[test]
fn a_pool_caller_waiting_for_a_worker_sleeps() {
    let endpoint = PoolEndpoint::new(|_| Answer::Token {
        expires_in: 7200,
        after: Duration::from_secs(1),
    });
    let sender = endpoint.clone();
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    let ticks = ticks_of(move || drop(pool.authorization(&1).unwrap()));
    assert!(ticks < 10, "{ticks} ticks of CPU while waiting");
}
