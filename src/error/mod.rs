//! Errors, split the way h11 splits them: the caller's own ([`ConfigError`], a configuration to
//! fix; [`InputError`], an input the machine refused), and a token attempt's, which failed because
//! of the server or the network ([`TokenError`], with the [`TransportError`] the caller reports and
//! the [`ErrorCode`] and [`ResponseProblem`] a server's answer carries).

mod attempt;
mod caller;
mod response;
mod transport;

pub use attempt::TokenError;
pub use caller::{ConfigError, InputError};
pub use response::{ErrorCode, FailureClass, ResponseProblem};
pub use transport::{TransportError, TransportErrorKind};

#[cfg(test)]
mod tests;
