//! The command line: options, their parsing and the usage text.

use seekpass_oauth::ClientAuth;

pub const USAGE: &str = "\
Fetches an OAuth 2.0 client-credentials token for the SEEK Pass partner API.

Environment (as the official guide names it):
  SEEK_PASS_URL    base URL, e.g. https://app.seekpass-staging.com
  CLIENT_ID        the client id SEEK Pass issued for that environment
  CLIENT_SECRET    its secret (whitespace at either end is refused, not trimmed)
  CLIENT_ID_FILE, CLIENT_SECRET_FILE
                   a file holding the id or the secret instead (Docker and Compose secrets,
                   a Kubernetes secret volume); one line ending at its end is dropped
  SEEK_PASS_SHARE  the store URL, as --share, when --share is not given
With neither SEEK_PASS_URL nor --token-url, an embedded demo server on 127.0.0.1 answers
(demo credentials, 30-second tokens), so the command works with no setup.

Options:
  --scope S          a scope to request; repeat it or separate scopes with spaces
  --client-id-file FILE, --client-secret-file FILE
                     read the client id or secret from FILE, as CLIENT_ID_FILE and
                     CLIENT_SECRET_FILE do; with --watch the secret file is read again about
                     every second, and a new secret is used from the next token request
  --token-url URL    the full token URL (other OAuth servers); overrides SEEK_PASS_URL
  --auth MODE        post (default), basic (RFC 6749 encoding) or basic-raw (what Doorkeeper decodes)
  --json             print exactly one JSON object on stdout
  --watch SECONDS    keep the token fresh for that long, printing each state change on stderr
                     and each new token's export line on stdout (one JSON object with --json)
  --max-attempts N   give up after N transient failures (default 5)
  --check            print the token's health in one line instead of the token, and exit 0 when
                     ready, 1 when degraded (or less than --min-remaining left), 2 when no token
                     can be had: for readiness probes and cron alerts (with --share, the health
                     of the token a fleet shares)
  --min-remaining D  with --check, the least lifetime left that counts as ready: 90s, 10m, 1h
  --cacert FILE      also trust the CA certificates in FILE (PEM), as curl --cacert; repeatable
  --share URL        share one token with every process given the same URL, through Redis or
                     Valkey: redis://[user:password@]host[:port][/db], rediss:// for TLS (the
                     system's CAs, or only the --cacert ones); or through a directory on this
                     host: file:///path. If the store fails, each process fetches on its own
                     until it is back. A URL with a password belongs in SEEK_PASS_SHARE (read
                     when --share is not given), out of the process list
  --no-cache         fetch a new token: by default a run reuses the token an earlier run kept in
                     $XDG_CACHE_HOME/seekpass-token (~/.cache/seekpass-token), readable by this
                     user alone, until that token is due for refresh

TLS trusts SSL_CERT_FILE / SSL_CERT_DIR when set, else the system store (where a TLS-inspecting
proxy's CA is installed), else compiled-in Mozilla roots. Proxies as curl reads them: https_proxy,
HTTPS_PROXY, then all_proxy / ALL_PROXY (http://user:password@host:port), never http_proxy for
https; no_proxy / NO_PROXY lists hosts, domains, addresses and ranges (10.0.0.0/8) that go direct.
  --help             this text

Exit status: 0 token obtained, 2 permanent failure, 3 transient failures outlasted --max-attempts,
64 bad usage or configuration; with --check, 0 ready, 1 degraded, 2 unavailable.";

/// Whether a URL carries a password (`scheme://user:password@host`, or `scheme://:password@host`).
pub fn has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    // Up to the query, as a password may hold an unescaped '/'.
    let authority = rest.split(['?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(user_info, _)| {
        user_info
            .split_once(':')
            .is_some_and(|(_, p)| !p.is_empty())
    })
}

/// Parsed options.
#[derive(Debug, Default)]
pub struct Options {
    pub scopes: Vec<String>,
    pub token_url: Option<String>,
    pub auth: ClientAuth,
    pub json: bool,
    pub watch: Option<u64>,
    pub max_attempts: u32,
    pub help: bool,
    pub cacert: Vec<std::path::PathBuf>,
    pub share: Option<String>,
    pub client_id_file: Option<std::path::PathBuf>,
    pub client_secret_file: Option<std::path::PathBuf>,
    pub check: bool,
    pub no_cache: bool,
    pub min_remaining: Option<std::time::Duration>,
}

/// Parses `args` (without the program name).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        max_attempts: 5,
        ..Options::default()
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--scope" => options.scopes.extend(
                value("--scope")?
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "--token-url" => options.token_url = Some(value("--token-url")?),
            "--auth" => {
                options.auth = match value("--auth")?.as_str() {
                    "post" => ClientAuth::SecretPost,
                    "basic" => ClientAuth::SecretBasic,
                    "basic-raw" => ClientAuth::SecretBasicUnencoded,
                    other => return Err(format!("--auth {other:?}: use post, basic or basic-raw")),
                }
            }
            "--json" => options.json = true,
            "--watch" => {
                let v = value("--watch")?;
                options.watch = Some(
                    v.parse()
                        .map_err(|_| format!("--watch {v:?}: a number of seconds"))?,
                );
            }
            "--max-attempts" => {
                let v = value("--max-attempts")?;
                options.max_attempts =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--max-attempts {v:?}: a whole number above zero")
                    })?;
            }
            "--cacert" => options.cacert.push(value("--cacert")?.into()),
            "--share" => options.share = Some(value("--share")?),
            "--client-id-file" => options.client_id_file = Some(value("--client-id-file")?.into()),
            "--client-secret-file" => {
                options.client_secret_file = Some(value("--client-secret-file")?.into());
            }
            "--check" => options.check = true,
            "--no-cache" => options.no_cache = true,
            "--min-remaining" => {
                options.min_remaining =
                    Some(crate::check::parse_duration(&value("--min-remaining")?)?);
            }
            "--help" | "-h" => options.help = true,
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    if options.check && options.watch.is_some() {
        return Err("--check and --watch do not go together: a check is one look".into());
    }
    if options.min_remaining.is_some() && !options.check {
        return Err("--min-remaining goes with --check".into());
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_url_is_seen_wherever_it_sits() {
        for url in [
            "redis://user:pw@127.0.0.1:6379/0",
            "redis://:pw@127.0.0.1",
            "rediss://u:p/w@host",
            "u:pw@host",
        ] {
            assert!(has_password(url), "{url}");
        }
        for url in [
            "redis://127.0.0.1:6379",
            "redis://user@127.0.0.1",
            "redis://user:@127.0.0.1",
            "redis://127.0.0.1/0?x=a:b@c",
        ] {
            assert!(!has_password(url), "{url}");
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn a_flag_may_take_its_value_after_an_equals_sign_and_nothing_else_is_split() {
        let options = parse(args(&["--token-url=https://h/t?a=b"])).unwrap();
        assert_eq!(options.token_url.as_deref(), Some("https://h/t?a=b"));
        let error = parse(args(&["scope=read"])).unwrap_err();
        assert!(error.contains("\"scope=read\""), "{error}");
    }

    #[test]
    fn five_attempts_unless_told_otherwise() {
        assert_eq!(parse(args(&[])).unwrap().max_attempts, 5);
        assert_eq!(
            parse(args(&["--max-attempts", "2"])).unwrap().max_attempts,
            2
        );
    }
}
