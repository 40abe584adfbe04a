//! `seekpass-token`: fetches a SEEK Pass partner API token, as the official guide's `curl` does,
//! properly: classified errors that say what to fix, back-off, redirects handled safely, and
//! `--watch` to see refreshes happen.
//!
//! ```text
//! seekpass-token                                   # embedded demo server, no setup
//! SEEK_PASS_URL=https://app.seekpass-staging.com CLIENT_ID=… CLIENT_SECRET=… \
//!     seekpass-token --scope write.education       # prints `export ACCESS_TOKEN=…`
//! seekpass-token --json                            # exactly one JSON object on stdout
//! seekpass-token --watch 30                        # keep a token fresh, print each change
//! ```
//!
//! Exit status: 0 token, 2 permanent failure, 3 transient failures outlasted `--max-attempts`,
//! 64 bad usage or configuration.

#![forbid(unsafe_code)]

mod cache;
mod check;
mod options;
mod output;
mod setup;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use seekpass_oauth::{FailureClass, Token};
use seekpass_oauth_blocking::{
    Error, FileStore, RedisStore, SecretSource, TokenSource, UreqSender,
};

use cache::Sharing;

use options::USAGE;

const NAME: &str = "seekpass-token";

fn main() -> ExitCode {
    let mut options = match options::parse(std::env::args().skip(1)) {
        Ok(o) if o.help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(o) => o,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::from(64);
        }
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    // The store URL can hold a password: from the environment it stays out of `ps`.
    if options.share.is_none() {
        options.share = env("SEEK_PASS_SHARE");
    } else if options.share.as_deref().is_some_and(options::has_password) && !options.json {
        eprintln!(
            "{NAME}: warning: the --share URL holds a password, which other users of this machine \
             can read in the process list; set SEEK_PASS_SHARE instead"
        );
    }
    let demo = options.token_url.is_none() && env("SEEK_PASS_URL").is_none();
    // A check asks whether the credentials and the endpoint give a token now: the cache would
    // answer for them with an old one (an explicit --share still answers, for a fleet's health).
    let sharing = cache::sharing(&options, demo || options.check);
    let setup = match setup::configure(&options, &env, sharing != Sharing::Alone) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::from(64);
        }
    };
    let sender = match UreqSender::with_ca_files(&options.cacert) {
        Ok(sender) => sender,
        Err(e) => {
            eprintln!("{NAME}: {e}");
            return ExitCode::from(64);
        }
    };
    let quiet = options.json;
    let watching = options.watch.is_some();
    let builder = TokenSource::builder(setup.config);
    let builder = match sharing {
        Sharing::Redis(url) => match RedisStore::with_ca_files(&url, &options.cacert) {
            Ok(store) => builder.store(store),
            Err(e) => {
                eprintln!("{NAME}: --share: {e}");
                return ExitCode::from(64);
            }
        },
        Sharing::Files(dir) => builder.store(FileStore::new(dir)),
        Sharing::Alone => builder,
    };
    // A run that keeps the token fresh follows a rotation of the secret file.
    let builder = match (&setup.secret_file, watching) {
        (Some(path), true) => builder.client_secret_source(SecretSource::file(path)),
        _ => builder,
    };
    let source = builder
        .max_attempts(options.max_attempts)
        // Long enough that --max-attempts decides when to stop, never the wait; a probe's check
        // answers within half a minute.
        .max_wait(Duration::from_secs(if options.check { 30 } else { 3600 }))
        .on_event(move |event| {
            if watching || !quiet {
                if let Some(line) = output::describe(event, watching) {
                    eprintln!("{} {line}", output::timestamp());
                }
            }
        })
        .build(sender);

    let result = source.token();
    if options.check {
        let health = source.health();
        let (code, line) = check::verdict(&health, options.min_remaining.unwrap_or_default());
        output::print_check(health.name(), &line, code, options.json);
        return ExitCode::from(code);
    }
    let result = match (result, options.watch) {
        (Ok(_), Some(seconds)) => watch(&source, Duration::from_secs(seconds), !options.json),
        (result, _) => result,
    };
    let state = source.state();
    match result {
        Ok(token) => {
            output::print_token(&token, state.name(), options.json);
            ExitCode::SUCCESS
        }
        Err(error) => {
            output::print_failure(NAME, &error, options.json);
            match error.class() {
                FailureClass::Permanent => ExitCode::from(2),
                _ => ExitCode::from(3),
            }
        }
    }
}

/// Keeps the token fresh for `period`, asking for it every second like a busy service, and
/// prints each state change; with `exports`, each new token's `export ACCESS_TOKEN=…` line on
/// stdout as it is taken up.
fn watch(source: &TokenSource, period: Duration, exports: bool) -> Result<Token, Error> {
    let started = Instant::now();
    let mut last = (String::new(), None);
    loop {
        let token = source.token()?;
        let state = source.state().name().to_owned();
        if exports && last.1 != Some(token.id()) {
            output::print_export(&token);
        }
        if (state.as_str(), Some(token.id())) != (last.0.as_str(), last.1) {
            eprintln!("{} state {state} ({})", output::timestamp(), token.id());
            last = (state, Some(token.id()));
        }
        let left = period.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ok(token);
        }
        std::thread::sleep(left.min(Duration::from_secs(1)));
    }
}
