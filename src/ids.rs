//! The identifiers the machine hands out: plain numbers, the bottom of the crate's layers.
//!
//! Each kind increases by one per request, store operation or token, so an answer can be
//! matched to what it answers and a stale one recognised.

use core::fmt;

/// Identifies one token request, so its answer can be matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The id as a number (ids increase by one per request).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request #{}", self.0)
    }
}

/// Identifies one store operation, so its result can be matched to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoreId(pub(crate) u64);

impl StoreId {
    /// The id as a number (ids increase by one per operation).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store operation #{}", self.0)
    }
}

/// Identifies one acquired token, so a report that the API rejected it
/// ([`TokenClient::invalidate`](crate::TokenClient::invalidate)) names the token it is about.
/// Ids increase with each token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(pub(crate) u64);

impl TokenId {
    /// The id as a number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token #{}", self.0)
    }
}
