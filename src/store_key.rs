//! The two store keys one configuration shares its token under, derived from the configuration
//! (see [`Share`](crate::Share) for the protocol that uses them).

use core::fmt::Write as _;

use crate::config::Config;
use crate::share::Share;
use crate::shared_token::FORMAT_VERSION;

/// The two keys one configuration shares its token under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) token: String,
    pub(crate) lock: String,
}

impl Keys {
    /// The keys for `config` shared with `share`: from everything that decides which token the
    /// endpoint issues, except the secret.
    pub(crate) fn new(config: &Config, share: &Share) -> Keys {
        let mut identity = String::new();
        // Length-prefixed, so no two configurations can produce the same identity text.
        for part in [
            config.endpoint.token_uri().to_string(),
            config.credentials.client_id().to_owned(),
            config.scopes.to_string(),
            config.client_auth.as_str().to_owned(),
        ] {
            let _ = write!(identity, "{}:{part};", part.len());
        }
        let hash = fnv1a_128(identity.as_bytes());
        let base = format!("{}v{FORMAT_VERSION}:{{{hash:032x}}}", share.key_prefix());
        Keys {
            token: format!("{base}:token"),
            lock: format!("{base}:lock"),
        }
    }
}

/// FNV-1a, 128 bits: stable across platforms, processes and versions (std's hashers are not), and
/// wide enough that two configurations of one deployment never meet. The stored value also
/// names its client id, which a reader checks.
fn fnv1a_128(bytes: &[u8]) -> u128 {
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
            base.token.starts_with("seekpass-oauth:v1:{"),
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
        assert!(prefixed.token.starts_with("app7/v1:{"));
    }
}
