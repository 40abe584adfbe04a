//! The command-line program every blocking example shares: options, configuration (or the
//! embedded demo server), the driver loop, and the output and exit codes.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::blocking::{BlockingDriver, GaveUp, Send};
use super::demo_server::{self, DemoServer};
use super::options::{self, Options, USAGE};
use seekpass_oauth::{
    Config, ConfigBuilder, Credentials, Endpoint, Event, FailureClass, Origin, Scopes, Token,
    TokenClient,
};

/// Runs the command with `sender` making the transport for a request deadline.
pub fn run(name: &str, sender: impl FnOnce(Duration) -> Send) -> ExitCode {
    let (options, config, _demo) = match setup(name) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let start = Instant::now();
    let origin = Origin::new(start);
    let send = sender(config.request_deadline());
    let client = TokenClient::new(config, origin.time(start));
    let mut driver = BlockingDriver::with_sender(client, origin, options.max_attempts, send);
    let quiet = options.json;
    driver.on_wait = Box::new(move |what| {
        if !quiet {
            eprintln!("… {what}");
        }
    });
    let watching = options.watch.is_some();
    driver.on_event = Box::new(move |_, event| {
        if watching {
            eprintln!("{} {}", timestamp(), describe(event));
        }
    });

    let result = driver.token();
    let result = match (result, options.watch) {
        (Ok(_), Some(seconds)) => watch(&mut driver, Duration::from_secs(seconds)),
        (result, _) => result,
    };
    let state = driver.client.state(driver.now()).name();
    match result {
        Ok(token) => {
            print_token(&token, state, options.json);
            ExitCode::SUCCESS
        }
        Err(gave_up) => {
            print_failure(name, &gave_up, options.json);
            exit_code(gave_up.class)
        }
    }
}

/// Options and configuration from the command line and the environment, with the demo server
/// if one was started (keep it alive); `Err` is the exit code after `--help` or a usage error.
pub fn setup(name: &str) -> Result<(Options, Config, Option<DemoServer>), ExitCode> {
    let options = match options::parse(std::env::args().skip(1)) {
        Ok(o) if o.help => {
            println!("{USAGE}");
            return Err(ExitCode::SUCCESS);
        }
        Ok(o) => o,
        Err(e) => {
            eprintln!("{name}: {e}");
            return Err(ExitCode::from(64));
        }
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut demo = None;
    match configure(&options, &env, &mut demo) {
        Ok(config) => Ok((options, config, demo)),
        Err(e) => {
            eprintln!("{name}: {e}");
            Err(ExitCode::from(64))
        }
    }
}

/// The exit code for giving up after a failure of `class`.
pub fn exit_code(class: FailureClass) -> ExitCode {
    match class {
        FailureClass::Permanent => ExitCode::from(2),
        FailureClass::Transient => ExitCode::from(3),
    }
}

/// The configuration from the environment and flags, starting the demo server when no
/// endpoint is given.
fn configure(
    options: &Options,
    env: &dyn Fn(&str) -> Option<String>,
    demo: &mut Option<DemoServer>,
) -> Result<Config, String> {
    let builder = if let Some(url) = &options.token_url {
        let endpoint = Endpoint::token_url(url).map_err(|e| e.to_string())?;
        let id = env("CLIENT_ID").ok_or("CLIENT_ID is not set")?;
        let secret = env("CLIENT_SECRET").ok_or("CLIENT_SECRET is not set")?;
        Config::builder(endpoint, Credentials::new(id, secret))
    } else if env("SEEK_PASS_URL").is_some() {
        ConfigBuilder::from_env(env).map_err(|e| e.to_string())?
    } else {
        let server =
            DemoServer::start(Duration::from_secs(30)).map_err(|e| format!("demo server: {e}"))?;
        if !options.json {
            eprintln!(
                "DEMO: SEEK_PASS_URL is not set, so an embedded demo server answers at {} with\n      \
                 demo credentials and 30-second tokens. Set SEEK_PASS_URL, CLIENT_ID and CLIENT_SECRET\n      \
                 for the real endpoint.",
                server.base_url()
            );
        }
        let endpoint = Endpoint::base_url(&server.base_url()).map_err(|e| e.to_string())?;
        let credentials = Credentials::new(
            env("CLIENT_ID").unwrap_or_else(|| demo_server::CLIENT_ID.into()),
            env("CLIENT_SECRET").unwrap_or_else(|| demo_server::CLIENT_SECRET.into()),
        );
        *demo = Some(server);
        Config::builder(endpoint, credentials)
    };
    let scopes = Scopes::parse(&options.scopes.join(" ")).map_err(|e| e.to_string())?;
    let seed = u64::from(std::process::id())
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    builder
        .scopes(scopes.iter().cloned())
        .client_auth(options.auth)
        .jitter_seed(seed)
        .build()
        .map_err(|e| e.to_string())
}

/// Keeps the token fresh for `period`, asking for it every second like a busy service, and
/// prints each state change.
fn watch(driver: &mut BlockingDriver, period: Duration) -> Result<Token, GaveUp> {
    let end = Instant::now() + period;
    let mut last = (String::new(), None);
    loop {
        let now = driver.now();
        let token = driver.client.token(now).map(|t| t.id());
        let state = driver.client.state(now).name().to_owned();
        if (state.clone(), token) != last {
            let shown = token.map_or("no token".into(), |t| t.to_string());
            eprintln!("{} state {state} ({shown})", timestamp());
            last = (state, token);
        }
        if Instant::now() >= end {
            return driver.token();
        }
        driver
            .drive_for(Duration::from_secs(1).min(end.saturating_duration_since(Instant::now())))?;
    }
}

pub fn print_token(token: &Token, state: &str, json: bool) {
    let secret = token.access_token().expose_secret();
    if json {
        let mut out = serde_json::json!({
            "ok": true,
            "access_token": secret,
            "token_type": "Bearer",
            "expires_in": token.lifetime().as_secs(),
            "scope": token.scope().to_string(),
            "state": state,
        });
        if let Some(created_at) = token.created_at() {
            out["created_at"] = created_at.into();
        }
        println!("{out}");
        return;
    }
    eprintln!("state:      {state}");
    eprintln!("token_type: Bearer");
    eprintln!(
        "expires_in: {}s (counted from when the request was sent)",
        token.lifetime().as_secs()
    );
    eprintln!(
        "scope:      {}",
        if token.scope().is_empty() {
            "(none)".into()
        } else {
            token.scope().to_string()
        }
    );
    if let Some(created_at) = token.created_at() {
        eprintln!("created_at: {created_at}");
    }
    println!("export ACCESS_TOKEN={secret}");
}

pub fn print_failure(name: &str, gave_up: &GaveUp, json: bool) {
    let error = &gave_up.error;
    if json {
        let out = serde_json::json!({
            "ok": false,
            "class": gave_up.class.to_string(),
            "status": error.status().map(|s| s.as_u16()),
            "error": error.code().map(|c| c.as_str().to_owned()),
            "description": error.to_string(),
        });
        println!("{out}");
    } else {
        eprintln!("{name}: {} failure: {error}", gave_up.class);
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::TokenAcquired {
            token,
            lifetime,
            scope,
            ..
        } => {
            format!(
                "acquired {token}, lifetime {}s, scope {:?}",
                lifetime.as_secs(),
                scope.to_string()
            )
        }
        Event::RefreshScheduled { token, at } => format!("refresh of {token} due at {at}"),
        Event::AttemptFailed {
            error,
            next_attempt,
            ..
        } => format!("attempt failed: {error}; next attempt at {next_attempt}"),
        other => format!("{other:?}"),
    }
}

/// Wall-clock time of day, UTC, for --watch lines.
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
