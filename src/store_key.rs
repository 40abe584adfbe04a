//! The two store keys one configuration shares its token under, derived from the configuration
//! (see [`Share`](crate::Share) for the protocol that uses them).

use core::fmt::Write as _;

use crate::config::Config;
use crate::share::Share;

/// The version in every key. It changes whenever what the keys are derived from, or the stored
/// value's format, changes, so replicas of two versions in one rolling deploy never read each
/// other's values. 2: extra form parameters joined the identity.
pub(crate) const KEY_VERSION: u32 = 2;

/// The two keys one configuration shares its token under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) token: String,
    pub(crate) lock: String,
}

impl Keys {
    /// The keys for `config` shared with `share`: from everything that decides which token the
    /// endpoint issues (the token URL, the client id, the scopes, the client authentication and
    /// every extra form parameter, in a canonical order), except the secret.
    pub(crate) fn new(config: &Config, share: &Share) -> Keys {
        let mut identity = String::new();
        // Length-prefixed, so no two configurations can produce the same identity text.
        let mut part = |text: &str| {
            let _ = write!(identity, "{}:{text};", text.len());
        };
        part(&config.endpoint.token_uri().to_string());
        part(config.credentials.client_id());
        part(&config.scopes.to_string());
        part(config.client_auth.as_str());
        // Sorted: the order parameters were added in does not change the token a server issues.
        let mut extra: Vec<&(String, String)> = config.extra_params.iter().collect();
        extra.sort();
        part(&extra.len().to_string());
        for (name, value) in extra {
            part(name);
            part(value);
        }
        let hash = fnv1a_128(identity.as_bytes());
        let base = format!("{}v{KEY_VERSION}:{{{hash:032x}}}", share.key_prefix());
        Keys {
            token: format!("{base}:token"),
            lock: format!("{base}:lock"),
        }
    }
}

/// FNV-1a, 128 bits: stable across platforms, processes and versions (std's hashers are not), and
/// wide enough that two configurations of one deployment never meet. The stored value also
/// names its client id, which a reader checks. Store keys are derived with it, and a store that
/// cannot hold a key as it is (a file name) may name it by this hash of it.
#[must_use]
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, &b| {
        (hash ^ u128::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientAuth, Credentials, Endpoint, Scope};

    fn config(id: &str, secret: &str, auth: ClientAuth, scopes: &[Scope]) -> Config {
        Config::builder(Endpoint::staging(), Credentials::new(id, secret))
            .scopes(scopes.iter().cloned())
            .client_auth(auth)
            .build()
            .unwrap()
    }

    #[test]
    fn fnv_matches_the_published_vectors() {
        assert_eq!(fnv1a_128(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }

    #[test]
    fn keys_follow_what_decides_the_token_and_never_the_secret() {
        let share = Share::default();
        let post = ClientAuth::default();
        let base = Keys::new(&config("a", "s1", post, &[Scope::WRITE_EDUCATION]), &share);
        assert!(
            base.token.starts_with("seekpass-oauth:v2:{"),
            "{}",
            base.token
        );
        assert!(base.token.ends_with("}:token"));
        assert_eq!(base.lock, base.token.replace(":token", ":lock"));
        // The secret does not change the key, so a rotation keeps the fleet on one key.
        assert_eq!(
            base,
            Keys::new(&config("a", "s2", post, &[Scope::WRITE_EDUCATION]), &share)
        );
        for other in [
            config("b", "s1", post, &[Scope::WRITE_EDUCATION]),
            config("a", "s1", post, &[]),
            config(
                "a",
                "s1",
                ClientAuth::SecretBasic,
                &[Scope::WRITE_EDUCATION],
            ),
        ] {
            assert_ne!(base, Keys::new(&other, &share));
        }
        let prefixed = Keys::new(
            &config("a", "s1", post, &[Scope::WRITE_EDUCATION]),
            &Share::new().prefix("app7/"),
        );
        assert!(prefixed.token.starts_with("app7/v2:{"));
    }

    #[test]
    fn every_extra_parameter_changes_the_key_in_any_order_it_was_added() {
        let share = Share::default();
        let with = |params: &[(&str, &str)]| {
            let builder = params.iter().fold(
                Config::builder(Endpoint::staging(), Credentials::new("a", "s")),
                |b, (n, v)| b.extra_param(*n, *v),
            );
            Keys::new(&builder.build().unwrap(), &share)
        };
        let none = with(&[]);
        let audience = with(&[("audience", "https://api.example/")]);
        assert_ne!(none, audience, "an extra parameter is its own token");
        assert_ne!(audience, with(&[("audience", "https://other.example/")]));
        assert_ne!(audience, with(&[("resource", "https://api.example/")]));
        // Parts cannot slide into each other.
        assert_ne!(with(&[("ab", "c")]), with(&[("a", "bc")]));
        assert_eq!(
            with(&[("audience", "x"), ("resource", "y")]),
            with(&[("resource", "y"), ("audience", "x")]),
            "canonical order"
        );
    }
}
