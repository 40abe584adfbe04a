//! The caller's errors: a configuration to fix ([`ConfigError`]) and an input the machine
//! refused, leaving its state unchanged ([`InputError`]).

use core::fmt;

use crate::ids::{RequestId, StoreId};

/// A configuration the crate cannot use. Each message says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable the official guide uses is not set.
    MissingVariable {
        /// The variable, such as `CLIENT_ID`.
        name: &'static str,
    },
    /// The `client_id` is empty.
    EmptyClientId,
    /// The `client_secret` is empty.
    EmptyClientSecret,
    /// A credential carries a character it was pasted with, not issued with: whitespace at
    /// either end (a trailing line feed from `echo` or a file, `\r\n` from a Windows editor, a
    /// no-break space from a web page) or a control character anywhere. Refused rather than
    /// trimmed; the value is never shown.
    PastedCharacter {
        /// The variable the credential is read from: `CLIENT_ID` or `CLIENT_SECRET`.
        name: &'static str,
        /// `"starts with"`, `"ends with"` or `"contains"`.
        at: &'static str,
        /// The character, named: `"a line feed (\\n)"`, `"a space"`, ….
        character: &'static str,
    },
    /// [`ClientAuth::SecretBasicUnencoded`](crate::ClientAuth::SecretBasicUnencoded) cannot carry
    /// a `client_id` containing `:`.
    ColonInClientId,
    /// A scope is not an RFC 6749 §3.3 scope token.
    InvalidScope {
        /// The scope as given.
        scope: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A token URL or base URL cannot be used.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra form parameter would override one the grant sets itself.
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// An extra form parameter has an empty name.
    EmptyParameterName,
    /// A [`Share`](crate::Share) setting cannot work.
    InvalidShare {
        /// What is wrong.
        reason: &'static str,
    },
    /// A product given to
    /// [`ConfigBuilder::user_agent_product`](crate::ConfigBuilder::user_agent_product) is not
    /// RFC 9110 §10.1.5 `User-Agent` syntax.
    InvalidUserAgent {
        /// The product as given.
        product: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingVariable { name } => {
                write!(f, "environment variable {name} is not set")?;
                match *name {
                    "SEEK_PASS_URL" => f.write_str(
                        "; set it to the environment's base URL, such as https://app.seekpass-staging.com",
                    ),
                    _ => f.write_str("; set it to the value SEEK Pass issued for this environment"),
                }
            }
            ConfigError::EmptyClientId => {
                f.write_str("client_id is empty; set CLIENT_ID to the id SEEK Pass issued")
            }
            ConfigError::EmptyClientSecret => {
                f.write_str("client_secret is empty; set CLIENT_SECRET to the secret SEEK Pass issued")
            }
            ConfigError::PastedCharacter {
                name,
                at,
                character,
            } => write!(
                f,
                "{name} {at} {character}, which an issued credential never does (a file, `echo` or a copied web page adds it); remove it from {name}"
            ),
            ConfigError::ColonInClientId => f.write_str(
                "client_id contains ':', which unencoded HTTP Basic cannot carry; use client_secret_post or client_secret_basic",
            ),
            ConfigError::InvalidScope { scope, reason } => {
                write!(f, "invalid scope {scope:?}: {reason}")
            }
            ConfigError::InvalidUrl { url, reason } => write!(f, "invalid token URL {url:?}: {reason}"),
            ConfigError::ReservedParameter { name } => write!(
                f,
                "extra parameter {name:?} is set by the client-credentials grant itself and cannot be overridden"
            ),
            ConfigError::EmptyParameterName => f.write_str("an extra parameter has an empty name"),
            ConfigError::InvalidShare { reason } => write!(f, "invalid token sharing setting: {reason}"),
            ConfigError::InvalidUserAgent { product, reason } => write!(
                f,
                "invalid User-Agent product {product:?}: {reason}, such as \"AcmeSIS/4.2\""
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// An input the machine refused; its state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// The id was never issued by this machine.
    UnknownRequest(RequestId),
    /// The request is no longer in flight: it was answered already, passed its deadline, or was
    /// abandoned when the configuration changed. Its answer is not used.
    StaleRequest(RequestId),
    /// The store operation id was never issued by this machine (or it does not share its token).
    UnknownStoreOp(StoreId),
    /// The store operation is no longer in flight: answered already, past its deadline, or
    /// dropped when the configuration changed. Its result is not used.
    StaleStoreOp(StoreId),
    /// A [`TokenPool`](crate::TokenPool) input named a key the pool holds no machine for: never
    /// asked for, evicted, forgotten, or still being resolved.
    NoEntry,
    /// [`TokenPool::resolved`](crate::TokenPool::resolved) for a key that is not being resolved
    /// (answered already, or its resolution timed out).
    NotResolving,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::UnknownRequest(id) => {
                write!(f, "{id} was never issued by this token client")
            }
            InputError::StaleRequest(id) => write!(
                f,
                "{id} is no longer in flight (answered, timed out or abandoned); its answer is ignored"
            ),
            InputError::UnknownStoreOp(id) => {
                write!(f, "{id} was never issued by this token client")
            }
            InputError::StaleStoreOp(id) => write!(
                f,
                "{id} is no longer in flight (answered, timed out or dropped); its result is ignored"
            ),
            InputError::NoEntry => f.write_str(
                "the token pool holds no token client for this key (never asked for, evicted or forgotten); the input is ignored",
            ),
            InputError::NotResolving => f.write_str(
                "the token pool is not waiting for this key's configuration (answered already or timed out); the answer is ignored",
            ),
        }
    }
}

impl std::error::Error for InputError {}
