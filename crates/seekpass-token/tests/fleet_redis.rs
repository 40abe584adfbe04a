//! A fleet of 100 `seekpass-token --share … --watch` processes started together against a real
//! Doorkeeper with 20-second tokens, sharing one token through a real Redis, for two minutes;
//! Redis is killed for 30 s in the middle. What Doorkeeper issued is read from its
//! `oauth_access_tokens` table; every process's current token is checked with `token/info`
//! throughout.
//!
//! Needs `DOORKEEPER_SHORT_URL` (20-second tokens) and `redis-server` installed: the test starts
//! and kills a Redis of its own with `interop/redis/server.sh`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use seekpass_oauth_testkit::interop::{issued, server_url, token_info};
use seekpass_oauth_testkit::redis::OwnRedis;

const PROCESSES: usize = 100;
const RUN: Duration = Duration::from_secs(120);
const LIFETIME: Duration = Duration::from_secs(20);
const KILL_AT: Duration = Duration::from_secs(45);
const OUTAGE: Duration = Duration::from_secs(30);
/// The last seconds of a token's life, as the checks see it: a token is first seen when its
/// fetch returns, which may be this long after Doorkeeper issued it (five Puma threads on SQLite
/// fall behind while the whole fleet fetches on its own during the outage), and a check takes
/// time too. A token refused at least `LIFETIME - RACE` after it was first seen raced its
/// expiry; refused earlier, it should have been fresh.
const RACE: Duration = Duration::from_secs(5);
/// The most checks that may race a token's expiry, of the up to 2,100 the run makes (100
/// processes, every 5 s for 105 s): a check races when its process's refresh is still on its way
/// through an overloaded Doorkeeper. Measured: none, at commits 0f8b35a and 7d87368. Each is
/// printed.
const MAX_RACED: usize = 10;

/// The most refused checks of a process that was waiting for the token endpoint: its refresh
/// was due before its token's end and no token had come back by the check. Doorkeeper here is
/// five Puma threads on SQLite, sharing two cores with the hundred processes; while the whole
/// fleet fetches on its own during the outage, an answer can take longer than the 5-10 s between
/// a 20-s token's refresh and its end. 14 s was measured on a server without
/// `interop/doorkeeper/app/sqlite.rb`, where a write waiting for SQLite's lock stalls the whole
/// server; with it, at commit 7d87368, no check waited. The process did its part; the server had
/// not answered. Each is printed with how long the process had been waiting.
const MAX_WAITING: usize = 20;

/// When each token was first printed by any process, counted from the fleet's start.
type FirstSeen = Arc<Mutex<HashMap<String, Duration>>>;

/// A check that `token/info` refused. Its fields are read through `Debug`, in the report.
/// Every refused check is classified from the age of the token, counted from when it was first
/// printed: refused before `LIFETIME - RACE`, it should have been fresh; from `LIFETIME + RACE`
/// on, the process kept a token far past its life without replacing it. Both fail the test. Only
/// a refusal in between, within `RACE` of the token's expiry, counts as a race.
#[derive(Debug)]
#[allow(dead_code)]
enum Refused {
    /// The process had printed no token 10 s into the run.
    NoToken { process: usize, at: Duration },
    /// The token was refused well within its life: the process should have held a fresh token.
    Fresh {
        process: usize,
        at: Duration,
        age: Duration,
        status: u16,
    },
    /// The token was refused long after its life: the process should have replaced it.
    Stale {
        process: usize,
        at: Duration,
        age: Duration,
        status: u16,
    },
    /// The token was refused after its end while the process's refresh, due before that end,
    /// had not been answered: the server was slow, not the process (see `MAX_WAITING`).
    Waiting {
        process: usize,
        at: Duration,
        age: Duration,
        waited: Duration,
    },
    /// The token was refused within `RACE` of its expiry.
    Raced {
        process: usize,
        at: Duration,
        age: Duration,
        status: u16,
    },
}

/// Prints to the test process's own stderr, which the test harness does not capture: the
/// figures reach CI's log whether the test passes or fails.
fn report(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

#[derive(Default)]
struct Seen {
    latest: Mutex<Option<String>>,
    /// When the process fetched a token itself (since the fleet started).
    fetches: Mutex<Vec<Duration>>,
    adopted: AtomicUsize,
    store_failures: AtomicUsize,
    /// Every line the process wrote to stderr, with when: printed for a process whose check
    /// failed, so the report says what it was doing.
    stderr: Mutex<Vec<(Duration, String)>>,
    /// When the process was started, since the fleet started: its own clock's zero, near enough
    /// (it starts counting a few milliseconds later).
    spawned_at: Duration,
}

impl Seen {
    /// How long the process had been waiting at `at` for a refresh due before `token_end`:
    /// its last refresh moment before `at`, if that came before `token_end` and no token was
    /// acquired or adopted between it and `at`.
    fn waiting(&self, at: Duration, token_end: Duration) -> Option<Duration> {
        let lines = self.stderr.lock().unwrap();
        let due = lines
            .iter()
            .filter(|(when, _)| *when <= at)
            .filter_map(|(_, line)| {
                let rest = line.split(" due at t=").nth(1)?;
                let secs: f64 = rest.trim_end_matches('s').parse().ok()?;
                Some(self.spawned_at + Duration::from_secs_f64(secs))
            })
            .next_back()?;
        let answered = lines.iter().any(|(when, line)| {
            *when > due
                && *when <= at
                && (line.contains(" acquired token") || line.contains(" adopted the shared"))
        });
        (due < token_end && due <= at && !answered).then(|| at - due)
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn spawn(
    i: usize,
    base: &str,
    redis: &str,
    began: Instant,
    first_seen: FirstSeen,
) -> (Child, Arc<Seen>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seekpass-token"))
        .args(["--watch", &RUN.as_secs().to_string()])
        // The store URL holds Redis's password: from the environment, out of the process list.
        .env("SEEK_PASS_SHARE", redis)
        .env("SEEK_PASS_URL", base)
        .env("CLIENT_ID", "fleet-client")
        .env("CLIENT_SECRET", "fleet-secret")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("process {i}: {e}"));
    let seen = Arc::new(Seen {
        spawned_at: began.elapsed(),
        ..Seen::default()
    });
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(token) = line.strip_prefix("export ACCESS_TOKEN=") {
                first_seen
                    .lock()
                    .unwrap()
                    .entry(token.to_owned())
                    .or_insert_with(|| began.elapsed());
                *out.latest.lock().unwrap() = Some(token.to_owned());
            }
        }
    });
    let err = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            err.stderr
                .lock()
                .unwrap()
                .push((began.elapsed(), line.clone()));
            if line.contains(" acquired token") {
                err.fetches.lock().unwrap().push(began.elapsed());
            } else if line.contains(" adopted the shared") {
                err.adopted.fetch_add(1, Ordering::Relaxed);
            } else if line.contains(" store ") && line.contains(" failed") {
                err.store_failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    (child, seen)
}

/// Tokens issued in `[from, to)`, counted from the fleet's start.
fn issued_between(times: &[u64], start_ms: u64, from: Duration, to: Duration) -> usize {
    let (from, to) = (
        start_ms + from.as_millis() as u64,
        start_ms + to.as_millis() as u64,
    );
    times.iter().filter(|t| **t >= from && **t < to).count()
}

#[test]
#[ignore = "needs DOORKEEPER_SHORT_URL and redis-server: interop/doorkeeper/server.sh, interop/redis/server.sh install (bash .ci/run does both)"]
fn a_hundred_processes_share_one_token_and_ride_out_a_redis_outage() {
    let base = server_url("DOORKEEPER_SHORT_URL");
    let dir = std::env::temp_dir().join(format!("seekpass-fleet-redis-{}", std::process::id()));
    let redis = OwnRedis::new(&dir);
    let url = redis.start(None);
    let port: u16 = url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/0")
        .parse()
        .unwrap();

    let start_ms = unix_millis();
    let began = Instant::now();
    let first_seen = FirstSeen::default();
    let fleet: Vec<(Child, Arc<Seen>)> = (0..PROCESSES)
        .map(|i| spawn(i, &base, &url, began, first_seen.clone()))
        .collect();

    // Every 5 s, every process's current token goes to token/info, while the fleet runs.
    let checking_until = RUN - Duration::from_secs(3);
    let mut rejected = Vec::new();
    let mut checks = 0;
    let mut unanswered = 0;
    let mut distinct_late = None;
    // Redis dies at KILL_AT and comes back on the same port OUTAGE later, on its own schedule
    // (a slow token/info check must not move it); in a scope, so that a panic in the checks
    // waits for the restart, and Redis is then stopped as the test unwinds.
    std::thread::scope(|scope| {
        let redis = &redis;
        let outage = scope.spawn(move || {
            std::thread::sleep(KILL_AT.saturating_sub(began.elapsed()));
            redis.stop();
            std::thread::sleep((KILL_AT + OUTAGE).saturating_sub(began.elapsed()));
            redis.start(Some(port));
        });
        while began.elapsed() < checking_until {
            std::thread::sleep(Duration::from_secs(5));
            let mut tokens = Vec::new();
            for (i, (_, seen)) in fleet.iter().enumerate() {
                if began.elapsed() >= checking_until {
                    break;
                }
                // The moment the token was read: one that arrives during the check is not counted.
                let read_at = began.elapsed();
                let Some(token) = seen.latest.lock().unwrap().clone() else {
                    if began.elapsed() > Duration::from_secs(10) {
                        rejected.push(Refused::NoToken {
                            process: i,
                            at: began.elapsed(),
                        });
                    }
                    continue;
                };
                // Doorkeeper (five Puma threads, SQLite) can be slow to answer while the whole
                // fleet fetches at once during the outage: an unanswered check is counted apart.
                match token_info(&base, format!("Bearer {token}").as_bytes()) {
                    Ok((200, _)) => checks += 1,
                    Ok((status, _)) => {
                        let at = began.elapsed();
                        let seen_at = first_seen.lock().unwrap().get(&token).copied();
                        let age = at.saturating_sub(seen_at.unwrap_or_default());
                        rejected.push(if age + RACE < LIFETIME {
                            Refused::Fresh {
                                process: i,
                                at,
                                age,
                                status,
                            }
                        } else if age >= LIFETIME + RACE {
                            let token_end = at.saturating_sub(age) + LIFETIME;
                            match seen.waiting(read_at, token_end) {
                                Some(waited) => Refused::Waiting {
                                    process: i,
                                    at,
                                    age,
                                    waited,
                                },
                                None => Refused::Stale {
                                    process: i,
                                    at,
                                    age,
                                    status,
                                },
                            }
                        } else {
                            Refused::Raced {
                                process: i,
                                at,
                                age,
                                status,
                            }
                        });
                    }
                    Err(_) => unanswered += 1,
                }
                tokens.push(token);
            }
            if began.elapsed() >= RUN - Duration::from_secs(12) && distinct_late.is_none() {
                tokens.sort();
                tokens.dedup();
                distinct_late = Some(tokens.len());
            }
        }
        outage.join().expect("Redis stopped and started again");
    });
    let mut fleet = fleet;
    let statuses: Vec<_> = fleet
        .iter_mut()
        .map(|(child, _)| child.wait().unwrap().code())
        .collect();
    let times = issued(&base, "fleet-client").unwrap();

    let shared = issued_between(&times, start_ms, Duration::ZERO, KILL_AT);
    let outage = issued_between(&times, start_ms, KILL_AT, KILL_AT + OUTAGE);
    let settled_from = KILL_AT + OUTAGE + LIFETIME;
    let after = issued_between(&times, start_ms, settled_from, RUN + Duration::from_secs(5));
    let most_in_outage = fleet
        .iter()
        .map(|(_, s)| {
            s.fetches
                .lock()
                .unwrap()
                .iter()
                .filter(|t| **t >= KILL_AT && **t < KILL_AT + OUTAGE)
                .count()
        })
        .max()
        .unwrap();
    let adopted: usize = fleet
        .iter()
        .map(|(_, s)| s.adopted.load(Ordering::Relaxed))
        .sum();
    let store_failures: usize = fleet
        .iter()
        .map(|(_, s)| s.store_failures.load(Ordering::Relaxed))
        .sum();
    let raced = rejected
        .iter()
        .filter(|r| matches!(r, Refused::Raced { .. }))
        .count();
    report(&format!(
        "fleet of {PROCESSES}: {} tokens issued in all; {shared} in the first {} s (Redis up), \
         {outage} in the {} s outage (at most {most_in_outage} by one process), {after} in the \
         last {} s; {adopted} adoptions, {store_failures} store failures; {checks} token/info \
         checks passed, {} refused ({raced} racing a token's last {} s, {} waiting on the \
         token endpoint), {unanswered} \
         unanswered; {:?} distinct tokens in use near the end",
        times.iter().filter(|t| **t >= start_ms).count(),
        KILL_AT.as_secs(),
        OUTAGE.as_secs(),
        (RUN - settled_from).as_secs(),
        rejected.len(),
        RACE.as_secs(),
        rejected
            .iter()
            .filter(|r| matches!(r, Refused::Waiting { .. }))
            .count(),
        distinct_late,
    ));
    for refused in &rejected {
        report(&format!("refused check: {refused:?}"));
    }
    // What the first few processes whose checks failed wrote in the minute before.
    let mut told = Vec::new();
    for refused in &rejected {
        let (Refused::Fresh { process, at, .. }
        | Refused::Stale { process, at, .. }
        | Refused::Raced { process, at, .. }
        | Refused::Waiting { process, at, .. }
        | Refused::NoToken { process, at }) = refused;
        if told.contains(process) || told.len() >= 3 {
            continue;
        }
        told.push(*process);
        let lines = fleet[*process].1.stderr.lock().unwrap();
        for (when, line) in lines
            .iter()
            .filter(|(when, _)| *when + Duration::from_secs(60) >= *at && when <= at)
        {
            report(&format!("process {process} at {when:.1?}: {line}"));
        }
    }
    let per_5s: Vec<usize> = (0..RUN.as_secs() / 5)
        .map(|k| {
            let from = Duration::from_secs(k * 5);
            issued_between(&times, start_ms, from, from + Duration::from_secs(5))
        })
        .collect();
    report(&format!("tokens issued per 5 s: {per_5s:?}"));
    assert!(statuses.iter().all(|s| *s == Some(0)), "{statuses:?}");
    // A process that should have held a fresh token and did not is a failure, however rare:
    // a token refused well within its life, one kept long after it, or none at all.
    let should_have_been_fresh: Vec<_> = rejected
        .iter()
        .filter(|r| !matches!(r, Refused::Raced { .. } | Refused::Waiting { .. }))
        .collect();
    assert!(
        should_have_been_fresh.is_empty(),
        "tokens refused well within or long after their life, or no token: {should_have_been_fresh:?}"
    );
    // Doorkeeper here is five Puma threads on SQLite on a 2-core machine. When the whole fleet
    // fetches on its own during the outage, a fetch can take seconds, and a check can meet a
    // token in its last seconds; at most MAX_RACED such checks, each printed above.
    assert!(raced <= MAX_RACED, "{raced} checks raced a token's expiry");
    let waiting = rejected
        .iter()
        .filter(|r| matches!(r, Refused::Waiting { .. }))
        .count();
    assert!(
        waiting <= MAX_WAITING,
        "{waiting} checks met a process waiting on the token endpoint"
    );
    assert!(
        unanswered * 20 <= checks,
        "{unanswered} checks unanswered, {checks} passed"
    );
    // Two tokens per lifetime (a 20-s token is refreshed at half its life), plus the cold
    // start's; without sharing the fleet would ask 100 times per refresh.
    let per_lifetime = |window: Duration| 2.0 * window.as_secs_f64() / LIFETIME.as_secs_f64();
    assert!(
        (shared as f64) <= 1.0 + per_lifetime(KILL_AT),
        "{shared} tokens before the outage"
    );
    // While Redis is gone each process fetches on its own, once per refresh (half a
    // lifetime), as it would without sharing.
    let refreshes = OUTAGE.as_secs() / (LIFETIME.as_secs() / 2);
    assert!(most_in_outage as u64 <= refreshes + 1, "{most_in_outage}");
    assert!(
        store_failures >= PROCESSES,
        "every process saw the store fail"
    );
    // Within one lifetime of its return the fleet shares again.
    assert!(
        (after as f64) <= 1.0 + per_lifetime(RUN - settled_from),
        "{after} tokens after the fleet settled"
    );
    assert!(distinct_late.is_some_and(|n| n <= 2), "{distinct_late:?}");
}

/// The classifier, on process 1's log from a run where Doorkeeper took 14 s to answer: its
/// refresh was due at 54.3 s, its token ended about 59 s, and the check at 69.4 s read the old
/// token just before the new one came back. Without a refresh due in time, or with the answer
/// already in, it is no wait.
#[test]
fn a_refresh_due_in_time_and_not_yet_answered_is_a_wait() {
    let seen = Seen::default();
    *seen.stderr.lock().unwrap() = vec![
        (secs(41.3), "08:35:39Z refresh of token #4 due at t=54.349s".into()),
        (secs(55.3), "08:35:53Z store read failed: the store is unavailable (unexpected end of file); fetching alone until t=56.282s".into()),
        (secs(69.43), "08:36:07Z acquired token #5, lifetime 20s, scope \"\"".into()),
    ];
    let token_end = secs(61.0);
    assert_eq!(
        seen.waiting(secs(69.42), token_end).map(|d| d.as_millis()),
        Some(15_071)
    );
    assert_eq!(
        seen.waiting(secs(69.5), token_end),
        None,
        "answered by then"
    );
    assert_eq!(
        seen.waiting(secs(69.42), secs(54.0)),
        None,
        "due after the end"
    );
    assert_eq!(seen.waiting(secs(40.0), token_end), None, "nothing due yet");
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}
