//! The configuration from the environment and the flags, with the embedded demo server when
//! no endpoint is given.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use seekpass_oauth::{Config, ConfigBuilder, Credentials, Endpoint, Scopes, Share};
use seekpass_oauth_blocking::SecretSource;
use seekpass_oauth_demo::DemoServer;

use crate::options::Options;

/// What the command runs with.
pub struct Setup {
    pub config: Config,
    /// The demo server, if one was started (keep it alive).
    pub _demo: Option<DemoServer>,
    /// The file the client secret was read from, if it was, to read again while watching.
    pub secret_file: Option<PathBuf>,
}

/// The file a credential is read from: the flag, else `{name}_FILE`, which may not be set
/// beside `name` (which of the two is meant is not for the command to guess).
fn credential_file(
    flag: Option<&Path>,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, String> {
    if let Some(path) = flag {
        return Ok(Some(path.to_owned()));
    }
    let file = format!("{name}_FILE");
    match (env(&file), env(name)) {
        (Some(_), Some(_)) => Err(format!("{name} and {file} are both set: keep one")),
        (path, _) => Ok(path.map(PathBuf::from)),
    }
}

/// The configuration from the environment and the flags.
pub fn configure(
    options: &Options,
    env: &dyn Fn(&str) -> Option<String>,
    share: bool,
) -> Result<Setup, String> {
    let id_file = credential_file(options.client_id_file.as_deref(), "CLIENT_ID", env)?;
    let secret_file = credential_file(options.client_secret_file.as_deref(), "CLIENT_SECRET", env)?;
    let id = id_file
        .map(|path| {
            SecretSource::file(path)
                .read()
                .map(|id| id.expose_secret().to_owned())
                .map_err(|e| format!("the client id from {} {}", e.source, e.detail))
        })
        .transpose()?;
    let secret = secret_file
        .as_ref()
        .map(|path| SecretSource::file(path).read().map_err(|e| e.to_string()))
        .transpose()?;
    // Read from files, the credentials stand where the variables would.
    let env = |name: &str| match (name, &id, &secret) {
        ("CLIENT_ID", Some(id), _) => Some(id.clone()),
        ("CLIENT_SECRET", _, Some(secret)) => Some(secret.expose_secret().to_owned()),
        _ => env(name),
    };
    let env = &env;
    let mut demo = None;
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
            env("CLIENT_ID").unwrap_or_else(|| seekpass_oauth_demo::CLIENT_ID.into()),
            env("CLIENT_SECRET").unwrap_or_else(|| seekpass_oauth_demo::CLIENT_SECRET.into()),
        );
        demo = Some(server);
        Config::builder(endpoint, credentials)
    };
    let scopes = Scopes::parse(&options.scopes.join(" ")).map_err(|e| e.to_string())?;
    // Each process its own refresh moment: replicas started together spread out.
    let seed = u64::from(std::process::id())
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    let builder = if share {
        builder.share(Share::new())
    } else {
        builder
    };
    let config = builder
        .scopes(scopes.iter().cloned())
        .client_auth(options.auth)
        .jitter_seed(seed)
        .user_agent_product(concat!("seekpass-token/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Setup {
        config,
        _demo: demo,
        secret_file,
    })
}
