//! What a user writes: credentials, endpoint, scopes and policies.
//!
//! The minimal configuration is an endpoint, credentials and scopes; everything else has a
//! documented default.

use core::time::Duration;

use crate::credentials::{ClientAuth, Credentials};
use crate::endpoint::Endpoint;
use crate::error::ConfigError;
use crate::policy::{RefreshMode, RetryPolicy, TimingPolicy};
use crate::scope::{Scope, Scopes};
use crate::share::Share;
use crate::user_agent::UserAgent;

/// Form parameters the grant sets itself; extra parameters can never override them.
const RESERVED_PARAMS: [&str; 4] = ["grant_type", "client_id", "client_secret", "scope"];

/// A validated configuration. Build one with [`Config::builder`] or [`ConfigBuilder::from_env`].
///
/// ```
/// use seekpass_oauth::{Config, Credentials, Endpoint, Scope};
///
/// let config = Config::builder(Endpoint::staging(), Credentials::new("my-client", "my-secret"))
///     .scope(Scope::WRITE_EDUCATION)
///     .build()
///     .unwrap();
/// assert_eq!(config.scopes().to_string(), "write.education");
/// assert!(!format!("{config:?}").contains("my-secret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) endpoint: Endpoint,
    pub(crate) credentials: Credentials,
    pub(crate) scopes: Scopes,
    pub(crate) client_auth: ClientAuth,
    pub(crate) extra_params: Vec<(String, String)>,
    pub(crate) timing: TimingPolicy,
    pub(crate) retry: RetryPolicy,
    pub(crate) refresh_mode: RefreshMode,
    pub(crate) request_deadline: Duration,
    pub(crate) max_body: usize,
    pub(crate) jitter_seed: u64,
    pub(crate) wall_clock: bool,
    pub(crate) user_agent: UserAgent,
    /// Boxed: most configurations do not share, and the machine holds its configuration inline.
    pub(crate) share: Option<Box<Share>>,
}

impl Config {
    /// Starts a configuration for `endpoint` with `credentials`.
    pub fn builder(endpoint: Endpoint, credentials: Credentials) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                endpoint,
                credentials,
                scopes: Scopes::new(),
                client_auth: ClientAuth::default(),
                extra_params: Vec::new(),
                timing: TimingPolicy::default(),
                retry: RetryPolicy::default(),
                refresh_mode: RefreshMode::default(),
                request_deadline: Duration::from_secs(30),
                max_body: 64 * 1024,
                jitter_seed: 0,
                wall_clock: false,
                user_agent: UserAgent::default(),
                share: None,
            },
        }
    }

    /// A builder holding this configuration, to change a part of it (rotated credentials,
    /// other scopes) for [`TokenClient::reconfigure`](crate::TokenClient::reconfigure).
    pub fn to_builder(&self) -> ConfigBuilder {
        ConfigBuilder {
            config: self.clone(),
        }
    }

    /// The token endpoint.
    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The credentials.
    #[must_use]
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The requested scopes.
    #[must_use]
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// How the client authenticates.
    #[must_use]
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    /// Extra form parameters, in the order given.
    #[must_use]
    pub fn extra_params(&self) -> &[(String, String)] {
        &self.extra_params
    }

    /// The timing policy.
    #[must_use]
    pub fn timing(&self) -> &TimingPolicy {
        &self.timing
    }

    /// The retry policy.
    #[must_use]
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether the machine fetches only on demand.
    #[must_use]
    pub fn refresh_mode(&self) -> RefreshMode {
        self.refresh_mode
    }

    /// How long a request may take before it counts as a transport failure.
    #[must_use]
    pub fn request_deadline(&self) -> Duration {
        self.request_deadline
    }

    /// The largest response body parsed, in bytes.
    #[must_use]
    pub fn max_response_body(&self) -> usize {
        self.max_body
    }

    /// How the token is shared with other replicas, if it is.
    #[must_use]
    pub fn share(&self) -> Option<&Share> {
        self.share.as_deref()
    }

    /// Whether `other` makes the endpoint issue the same tokens: the same token URL, client id,
    /// scopes, client authentication and extra parameters. The secret (a rotation) and the
    /// `User-Agent` may differ.
    pub(crate) fn issues_same_tokens_as(&self, other: &Config) -> bool {
        self.endpoint == other.endpoint
            && self.credentials.client_id() == other.credentials.client_id()
            && self.scopes == other.scopes
            && self.client_auth == other.client_auth
            && self.extra_params == other.extra_params
    }

    /// The `User-Agent` each token request carries: the products added with
    /// [`ConfigBuilder::user_agent_product`], then [`USER_AGENT_PRODUCT`](crate::USER_AGENT_PRODUCT)
    /// (`seekpass-oauth/<version>`).
    #[must_use]
    pub fn user_agent(&self) -> String {
        self.user_agent.value()
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] validates it.
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// A builder from the official guide's environment variables, read through `lookup` (pass
    /// `|name| std::env::var(name).ok()` for the process environment):
    /// `SEEK_PASS_URL` (the base URL), `CLIENT_ID` and `CLIENT_SECRET`.
    ///
    /// ```
    /// use seekpass_oauth::{ConfigBuilder, Scope};
    ///
    /// let env = |name: &str| match name {
    ///     "SEEK_PASS_URL" => Some("https://app.seekpass-staging.com".to_owned()),
    ///     "CLIENT_ID" => Some("my-client".to_owned()),
    ///     "CLIENT_SECRET" => Some("my-secret".to_owned()),
    ///     _ => None,
    /// };
    /// let config = ConfigBuilder::from_env(env).unwrap().scope(Scope::WRITE_EDUCATION).build().unwrap();
    /// assert_eq!(config.credentials().client_id(), "my-client");
    /// ```
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<ConfigBuilder, ConfigError> {
        let var = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::MissingVariable { name })
        };
        let endpoint = Endpoint::base_url(&var("SEEK_PASS_URL")?)?;
        let credentials = Credentials::new(var("CLIENT_ID")?, var("CLIENT_SECRET")?);
        Ok(Config::builder(endpoint, credentials))
    }

    /// Replaces the endpoint.
    pub fn endpoint(mut self, endpoint: Endpoint) -> ConfigBuilder {
        self.config.endpoint = endpoint;
        self
    }

    /// Replaces the credentials.
    pub fn credentials(mut self, credentials: Credentials) -> ConfigBuilder {
        self.config.credentials = credentials;
        self
    }

    /// Adds a scope (duplicates are dropped, order is kept).
    pub fn scope(mut self, scope: Scope) -> ConfigBuilder {
        self.config.scopes.push(scope);
        self
    }

    /// Adds scopes (duplicates are dropped, order is kept).
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> ConfigBuilder {
        self.config.scopes.extend(scopes);
        self
    }

    /// How the client authenticates; the default is `client_secret_post`.
    pub fn client_auth(mut self, auth: ClientAuth) -> ConfigBuilder {
        self.config.client_auth = auth;
        self
    }

    /// Adds a form parameter such as `audience` or `resource`. `grant_type`, `client_id`,
    /// `client_secret` and `scope` are refused by [`ConfigBuilder::build`].
    pub fn extra_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> ConfigBuilder {
        self.config.extra_params.push((name.into(), value.into()));
        self
    }

    /// The timing policy.
    pub fn timing(mut self, timing: TimingPolicy) -> ConfigBuilder {
        self.config.timing = timing;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> ConfigBuilder {
        self.config.retry = retry;
        self
    }

    /// Fetch on demand (default) or keep a token fresh at all times.
    pub fn refresh_mode(mut self, mode: RefreshMode) -> ConfigBuilder {
        self.config.refresh_mode = mode;
        self
    }

    /// How long a request may take before it counts as a transport failure (default 30 s).
    pub fn request_deadline(mut self, deadline: Duration) -> ConfigBuilder {
        self.config.request_deadline = deadline;
        self
    }

    /// The largest response body parsed, in bytes (default 64 KiB).
    pub fn max_response_body(mut self, bytes: usize) -> ConfigBuilder {
        self.config.max_body = bytes;
        self
    }

    /// The seed of every jitter draw. Give each replica its own (a hash of host name and process
    /// id, say) so replicas started together spread their refreshes; the machine also mixes in
    /// the time it was created.
    pub fn jitter_seed(mut self, seed: u64) -> ConfigBuilder {
        self.config.jitter_seed = seed;
        self
    }

    /// Declares that the [`Time`](crate::Time) values fed to the machine are wall-clock
    /// milliseconds since the Unix epoch ([`Time::from_system_time`](crate::Time::from_system_time)).
    /// The machine then reports server clock skew seen through `created_at`, and can measure an
    /// HTTP-date `Retry-After` without a `Date` header. Default: off (a monotonic clock).
    pub fn wall_clock(mut self, wall_clock: bool) -> ConfigBuilder {
        self.config.wall_clock = wall_clock;
        self
    }

    /// Shares the token with the other replicas of this service through a store (Redis,
    /// Valkey): one token request per lifetime for the whole fleet, even at a cold start. The
    /// machine then emits [`Output::Store`](crate::Output::Store) operations; see [`Share`] for
    /// the protocol and its defaults.
    pub fn share(mut self, share: Share) -> ConfigBuilder {
        self.config.share = Some(Box::new(share));
        self
    }

    /// Names the partner's integration in the token request's `User-Agent`, before the products
    /// already there: `"AcmeSIS/4.2"` gives `User-Agent: AcmeSIS/4.2 seekpass-oauth/<version>`.
    /// One or more RFC 9110 §10.1.5 products (`name/version`), optionally with comments
    /// (`"AcmeSIS/4.2 (ops@acme.example)"`), separated by spaces; [`ConfigBuilder::build`]
    /// refuses anything else with [`ConfigError::InvalidUserAgent`]. A token endpoint's
    /// operators tell integrations apart by it.
    pub fn user_agent_product(mut self, product: impl Into<String>) -> ConfigBuilder {
        self.config.user_agent.prepend(product.into());
        self
    }

    /// Validates the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let config = self.config;
        if config.credentials.client_id().is_empty() {
            return Err(ConfigError::EmptyClientId);
        }
        if config
            .credentials
            .client_secret()
            .expose_secret()
            .is_empty()
        {
            return Err(ConfigError::EmptyClientSecret);
        }
        config.credentials.check()?;
        if config.client_auth == ClientAuth::SecretBasicUnencoded
            && config.credentials.client_id().contains(':')
        {
            return Err(ConfigError::ColonInClientId);
        }
        for (name, _) in &config.extra_params {
            if name.is_empty() {
                return Err(ConfigError::EmptyParameterName);
            }
            if RESERVED_PARAMS.contains(&name.as_str()) {
                return Err(ConfigError::ReservedParameter { name: name.clone() });
            }
        }
        if let Some(share) = &config.share {
            share.validate()?;
        }
        config.user_agent.check()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ConfigBuilder {
        Config::builder(Endpoint::staging(), Credentials::new("id", "secret"))
    }

    #[test]
    fn minimal_configuration_has_documented_defaults() {
        let c = builder().build().unwrap();
        assert!(c.scopes().is_empty());
        assert_eq!(c.client_auth(), ClientAuth::SecretPost);
        assert_eq!(c.request_deadline(), Duration::from_secs(30));
        assert_eq!(c.max_response_body(), 65_536);
        assert_eq!(c.refresh_mode(), RefreshMode::WhileUsed);
        assert_eq!(c.timing(), &TimingPolicy::default());
        assert_eq!(c.retry(), &RetryPolicy::default());
    }

    #[test]
    fn getters_return_what_was_configured() {
        let timing = TimingPolicy::default().refresh_margin(Duration::from_secs(60));
        let retry = RetryPolicy::default().max_retry_after(Duration::from_secs(5));
        let c = builder()
            .client_auth(ClientAuth::SecretBasic)
            .extra_param("audience", "partner-api")
            .timing(timing.clone())
            .retry(retry.clone())
            .refresh_mode(RefreshMode::Always)
            .build()
            .unwrap();
        assert_eq!(c.client_auth(), ClientAuth::SecretBasic);
        assert_eq!(
            c.extra_params(),
            [("audience".to_owned(), "partner-api".to_owned())]
        );
        assert_eq!(c.timing(), &timing);
        assert_ne!(c.timing(), &TimingPolicy::default());
        assert_eq!(c.retry(), &retry);
        assert_ne!(c.retry(), &RetryPolicy::default());
        assert_eq!(c.refresh_mode(), RefreshMode::Always);
    }

    #[test]
    fn empty_credentials_are_refused() {
        let e = Config::builder(Endpoint::staging(), Credentials::new("", "s"))
            .build()
            .unwrap_err();
        assert_eq!(e, ConfigError::EmptyClientId);
        let e = Config::builder(Endpoint::staging(), Credentials::new("i", ""))
            .build()
            .unwrap_err();
        assert_eq!(e, ConfigError::EmptyClientSecret);
    }

    #[test]
    fn credentials_read_with_a_trailing_newline_are_refused_naming_the_variable() {
        for (id, secret, name) in [
            ("demo-client", "demo-secret\n", "CLIENT_SECRET"),
            ("demo-client", "demo-secret\r\n", "CLIENT_SECRET"),
            ("demo-client\n", "demo-secret", "CLIENT_ID"),
        ] {
            let env = |n: &str| match n {
                "SEEK_PASS_URL" => Some("https://app.seekpass-staging.com".to_owned()),
                "CLIENT_ID" => Some(id.to_owned()),
                "CLIENT_SECRET" => Some(secret.to_owned()),
                _ => None,
            };
            let e = ConfigBuilder::from_env(env).unwrap().build().unwrap_err();
            assert!(
                matches!(e, ConfigError::PastedCharacter { name: n, at: "ends with", .. } if n == name),
                "{e:?}"
            );
        }
    }

    #[test]
    fn unencoded_basic_cannot_carry_a_colon_in_the_id() {
        let c = Config::builder(Endpoint::staging(), Credentials::new("a:b", "s"));
        assert!(c
            .clone()
            .client_auth(ClientAuth::SecretBasic)
            .build()
            .is_ok());
        assert_eq!(
            c.client_auth(ClientAuth::SecretBasicUnencoded)
                .build()
                .unwrap_err(),
            ConfigError::ColonInClientId
        );
    }

    #[test]
    fn extra_params_cannot_override_the_grant() {
        for name in RESERVED_PARAMS {
            let e = builder().extra_param(name, "x").build().unwrap_err();
            assert_eq!(e, ConfigError::ReservedParameter { name: name.into() });
        }
        assert_eq!(
            builder().extra_param("", "x").build().unwrap_err(),
            ConfigError::EmptyParameterName
        );
        let c = builder()
            .extra_param("audience", "https://api.example.com")
            .build()
            .unwrap();
        assert_eq!(c.extra_params().len(), 1);
    }

    #[test]
    fn to_builder_keeps_everything_but_what_is_changed() {
        let config = Config::builder(Endpoint::staging(), Credentials::new("id", "old"))
            .scope(Scope::WRITE_EDUCATION)
            .request_deadline(Duration::from_secs(7))
            .build()
            .unwrap();
        assert_eq!(config.to_builder().build().unwrap(), config);
        let rotated = config
            .to_builder()
            .credentials(Credentials::new("id", "new"))
            .build()
            .unwrap();
        assert_eq!(rotated.credentials().client_secret().expose_secret(), "new");
        assert_eq!(rotated.scopes(), config.scopes());
        assert_eq!(rotated.request_deadline(), Duration::from_secs(7));
    }

    #[test]
    fn from_env_names_each_missing_variable() {
        let full = |name: &str| -> Option<String> {
            Some(
                match name {
                    "SEEK_PASS_URL" => "https://app.seekpass-staging.com",
                    "CLIENT_ID" => "id",
                    "CLIENT_SECRET" => "secret",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let c = ConfigBuilder::from_env(full).unwrap().build().unwrap();
        assert_eq!(c.endpoint(), &Endpoint::staging());
        for missing in ["SEEK_PASS_URL", "CLIENT_ID", "CLIENT_SECRET"] {
            let lookup = |name: &str| if name == missing { None } else { full(name) };
            let e = ConfigBuilder::from_env(lookup).unwrap_err();
            assert_eq!(e, ConfigError::MissingVariable { name: missing });
            assert!(e.to_string().contains(missing));
            let blank = |name: &str| {
                if name == missing {
                    Some("  ".into())
                } else {
                    full(name)
                }
            };
            assert!(ConfigBuilder::from_env(blank).is_err());
        }
    }

    #[test]
    fn from_env_rejects_an_insecure_url() {
        let lookup = |name: &str| -> Option<String> {
            Some(
                match name {
                    "SEEK_PASS_URL" => "http://app.seekpass-staging.com",
                    _ => "x",
                }
                .to_owned(),
            )
        };
        assert!(matches!(
            ConfigBuilder::from_env(lookup).unwrap_err(),
            ConfigError::InvalidUrl { .. }
        ));
    }

    #[test]
    fn scopes_keep_order_and_drop_duplicates() {
        let c = builder()
            .scope(Scope::WRITE_MICROCREDENTIAL)
            .scopes([Scope::WRITE_EDUCATION, Scope::WRITE_MICROCREDENTIAL])
            .scope(Scope::WRITE_DIGITAL_IDENTITY)
            .build()
            .unwrap();
        assert_eq!(
            c.scopes().to_string(),
            "write.microcredential write.education write.digital_identity"
        );
    }

    #[test]
    fn a_user_agent_product_is_checked_when_built() {
        let c = builder().user_agent_product("AcmeSIS/4.2").build().unwrap();
        assert_eq!(
            c.user_agent(),
            format!("AcmeSIS/4.2 {}", crate::USER_AGENT_PRODUCT)
        );
        assert_eq!(
            builder().build().unwrap().user_agent(),
            crate::USER_AGENT_PRODUCT
        );
        assert!(matches!(
            builder().user_agent_product("Acme/1\nX: y").build(),
            Err(ConfigError::InvalidUserAgent { .. })
        ));
    }
}
