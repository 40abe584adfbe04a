//! A fleet of token machines against one simulated token endpoint, on a simulated clock: no I/O,
//! no sleeping, no threads. Shared by `examples/fleet/main.rs` and `tests/fleet.rs`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Output, RequestId, Share, StoreCommand, StoreId, Time,
    TimingPolicy, TokenClient,
};

use crate::memory_store::MemoryStore;

/// A 503 window on the token endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Outage {
    pub start: Time,
    pub duration: Duration,
    /// The `Retry-After` seconds sent with each 503, if any.
    pub retry_after: Option<u64>,
}

impl Outage {
    fn covers(&self, t: Time) -> bool {
        t >= self.start && t < self.start.saturating_add(self.duration)
    }
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub replicas: u32,
    /// Replicas start evenly spread over this window (every one wants a token at once).
    pub start_window: Duration,
    /// `expires_in` of every token issued.
    pub lifetime: Duration,
    pub length: Duration,
    /// Every replica's timing policy.
    pub timing: TimingPolicy,
    /// Time between a request being sent and its answer being fed.
    pub latency: Duration,
    pub outage: Option<Outage>,
    /// Share one token through a store; `None`: every replica on its own.
    pub sharing: Option<Sharing>,
}

/// A store the replicas share their token through.
#[derive(Clone, Debug)]
pub struct Sharing {
    /// How long each store operation takes.
    pub latency: Duration,
    pub share: Share,
}

impl Sharing {
    /// The defaults, on a store answering in a millisecond.
    pub fn defaults() -> Sharing {
        Sharing {
            latency: Duration::from_millis(1),
            share: Share::new(),
        }
    }
}

/// What happened, second by second.
#[derive(Debug)]
pub struct Report {
    /// Token requests arriving in each second of the run.
    pub per_second: Vec<u32>,
    /// Token requests each replica sent during the outage.
    pub outage_requests: Vec<u32>,
    /// Replicas that at some wake-up had no token to serve, after their first one.
    pub replicas_without_a_token: u32,
    /// Machine wake-ups processed (polls, answers).
    pub steps: u64,
    /// Store operations performed.
    pub store_ops: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Wake,
    Answer,
    Stored,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function: a well-spread 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A replica's seed, as a driver derives it from its host name and process id.
fn seed(replica: u32) -> u64 {
    mix(u64::from(replica).wrapping_add(GOLDEN_GAMMA))
}

fn config(fleet: &Fleet, replica: u32) -> Config {
    let builder = Config::builder(
        Endpoint::staging(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .timing(fleet.timing.clone())
    .jitter_seed(seed(replica));
    let builder = match &fleet.sharing {
        Some(sharing) => builder.share(sharing.share.clone()),
        None => builder,
    };
    builder.build().expect("a valid configuration")
}

fn answer(fleet: &Fleet, replica: u32, sent: Time) -> Response<Vec<u8>> {
    if let Some(outage) = fleet.outage.filter(|o| o.covers(sent)) {
        let mut response = Response::new(b"<html>503 Service Unavailable</html>".to_vec());
        *response.status_mut() = seekpass_oauth::http::StatusCode::SERVICE_UNAVAILABLE;
        if let Some(secs) = outage.retry_after {
            response.headers_mut().insert(
                seekpass_oauth::http::header::RETRY_AFTER,
                seekpass_oauth::http::HeaderValue::from(secs),
            );
        }
        return response;
    }
    let body = format!(
        r#"{{"access_token":"fleet-token-{replica}-{}","token_type":"Bearer","expires_in":{},"scope":"write.education"}}"#,
        sent.as_millis(),
        fleet.lifetime.as_secs()
    );
    Response::new(body.into_bytes())
}

/// Runs the fleet: every replica is a busy service that asks for its token whenever it wakes.
pub fn run(fleet: &Fleet) -> Report {
    let n = fleet.replicas as usize;
    let end = Time::ZERO.saturating_add(fleet.length);
    let seconds = fleet.length.as_secs() as usize + 1;
    let spacing = fleet.start_window.as_micros() as u64 / u64::from(fleet.replicas.max(1));
    let start = |i: u32| Time::from_millis(u64::from(i) * spacing / 1000);

    let mut clients: Vec<TokenClient> = (0..fleet.replicas)
        .map(|i| TokenClient::new(config(fleet, i), start(i)))
        .collect();
    let mut in_flight: Vec<Option<(RequestId, Time)>> = vec![None; n];
    let mut store = MemoryStore::new();
    let mut store_flight: Vec<Option<(StoreId, StoreCommand)>> = vec![None; n];
    let mut next_wake: Vec<Option<Time>> = vec![None; n];
    let mut had_token = vec![false; n];
    let mut lacked = vec![false; n];
    let mut queue: BinaryHeap<Reverse<(Time, Step, u32)>> = BinaryHeap::with_capacity(2 * n);
    for i in 0..fleet.replicas {
        queue.push(Reverse((start(i), Step::Wake, i)));
        next_wake[i as usize] = Some(start(i));
    }

    let mut report = Report {
        per_second: vec![0; seconds],
        outage_requests: vec![0; n],
        replicas_without_a_token: 0,
        steps: 0,
        store_ops: 0,
    };
    while let Some(Reverse((now, step, i))) = queue.pop() {
        if now > end {
            break;
        }
        let r = i as usize;
        let client = &mut clients[r];
        match step {
            Step::Wake if next_wake[r] != Some(now) => continue, // superseded
            Step::Wake => next_wake[r] = None,
            Step::Answer => {
                let Some((id, sent)) = in_flight[r].take() else {
                    continue;
                };
                // Refused only if the machine gave up on it first; it says so with an event.
                let _ = client.handle_response(id, answer(fleet, i, sent), now);
            }
            Step::Stored => {
                let Some((id, command)) = store_flight[r].take() else {
                    continue;
                };
                let result = store.apply(&command, now);
                report.store_ops += 1;
                let _ = client.handle_store(id, Ok(result), now);
            }
        }
        report.steps += 1;
        // A busy service: every wake-up is a moment it needs the token.
        if client.token(now).is_some() {
            had_token[r] = true;
        } else if had_token[r] {
            lacked[r] = true;
        }
        loop {
            match client.poll(now) {
                Output::Transmit(transmit) => {
                    report.per_second[(now.as_millis() / 1000) as usize] += 1;
                    if fleet.outage.is_some_and(|o| o.covers(now)) {
                        report.outage_requests[r] += 1;
                    }
                    in_flight[r] = Some((transmit.id(), now));
                    let at = now.saturating_add(fleet.latency);
                    queue.push(Reverse((at, Step::Answer, i)));
                }
                Output::Store(op) => {
                    let (id, command) = op.into_parts();
                    store_flight[r] = Some((id, command));
                    let latency = fleet.sharing.as_ref().map(|s| s.latency);
                    let at = now.saturating_add(latency.unwrap_or_default());
                    queue.push(Reverse((at, Step::Stored, i)));
                }
                Output::Event(_) => {}
                Output::Timeout(at) => {
                    if next_wake[r].is_none_or(|w| at < w) {
                        next_wake[r] = Some(at);
                        queue.push(Reverse((at, Step::Wake, i)));
                    }
                    break;
                }
                Output::Idle => break,
            }
        }
    }
    report.replicas_without_a_token = lacked.iter().filter(|l| **l).count() as u32;
    report
}

impl Report {
    /// The requests sent during the outage by each replica that sent any.
    pub fn outage_retries(&self) -> Vec<u32> {
        self.outage_requests
            .iter()
            .copied()
            .filter(|&c| c > 0)
            .collect()
    }
}

/// Peak and mean of per-window counts over `counts[from..]`, windows of `width` seconds.
pub fn peak_and_mean(counts: &[u32], from: usize, width: usize) -> (u32, f64) {
    let windows: Vec<u32> = counts
        .get(from..)
        .unwrap_or_default()
        .chunks(width)
        .filter(|w| w.len() == width)
        .map(|w| w.iter().sum())
        .collect();
    let peak = windows.iter().copied().max().unwrap_or(0);
    let mean = windows.iter().map(|&c| f64::from(c)).sum::<f64>() / windows.len().max(1) as f64;
    (peak, mean)
}

/// The floor for any randomised spreading: `total` requests placed independently and uniformly
/// over `seconds` seconds (a seeded generator, so the figure is reproducible).
pub fn uniform_baseline(total: u64, seconds: usize, seed: u64) -> Vec<u32> {
    let mut counts = vec![0; seconds];
    let mut state = seed;
    for _ in 0..total {
        state = state.wrapping_add(GOLDEN_GAMMA);
        counts[(mix(state) % seconds as u64) as usize] += 1;
    }
    counts
}
