//! The API's refusals of tokens (a 401 reported through [`TokenClient::invalidate`]) as evidence,
//! not commands.
//!
//! A refusal of a token long after it was issued is a revocation: the token is dropped and one
//! new token is fetched at once. A refusal of a token fetched to replace a refused one, soon after
//! it was issued, says the cause is not the token (the scope, the account, a proxy, or another
//! process whose token requests revoke this one's, as Doorkeeper's
//! `revoke_previous_client_credentials_token` does). Each such refusal in a row holds further
//! refusals back for longer (`RetryPolicy::refused_tokens`: 1 s doubling to 5 min by default),
//! so a 401 that is about something else costs a handful of token requests, not one per call:
//!
//! ```text
//!  token refused ──(long after issue, or not a replacement)──► taken: dropped, one new token
//!        │
//!        └──(a replacement, within FRESH of its issue)──► streak + 1, Event::TokenRefusedAgain
//!                 refusals before first refusal + hold(streak): not taken (401 passed through,
//!                 the token still served); from then on: taken
//! ```

use core::time::Duration;

use super::{Current, TokenClient};
use crate::event::Event;
use crate::ids::TokenId;
use crate::time::Time;

/// A replacement refused sooner than this after its issue counts as refused again.
const FRESH: Duration = Duration::from_secs(60);

/// What the machine remembers about refusals across tokens.
#[derive(Default)]
pub(super) struct Refusals {
    /// Replacements in a row refused soon after issue.
    streak: u32,
    /// A refusal was taken and its replacement is not yet in.
    replacing: bool,
}

/// What a token's own refusals have been.
pub(super) struct TokenRefusals {
    /// The token was fetched (or adopted) to replace a refused one.
    pub(super) replacement: bool,
    /// Set at the API's first refusal of it: until when its refusals are not taken.
    hold_until: Option<Time>,
}

impl Refusals {
    /// The refusals of a token taken up now.
    pub(super) fn for_new_token(&mut self) -> TokenRefusals {
        let replacement = core::mem::take(&mut self.replacing);
        TokenRefusals {
            replacement,
            hold_until: None,
        }
    }
}

impl TokenClient {
    /// Whether a refusal of token `id` at `now` is taken: never for a token that is not the
    /// current one or is invalidated already. The first refusal of each token decides its hold;
    /// refusals before the hold ends are not taken.
    pub(super) fn refusal_taken(&mut self, id: TokenId, now: Time) -> bool {
        let Some(Current {
            token, refusals, ..
        }) = self
            .current
            .as_mut()
            .filter(|c| c.token.id == id && !c.invalidated)
        else {
            return false;
        };
        let hold_until = match refusals.hold_until {
            Some(until) => until,
            None => {
                let fresh = now.saturating_duration_since(token.requested_at) < FRESH;
                let until = if refusals.replacement && fresh {
                    self.refusals.streak = self.refusals.streak.saturating_add(1);
                    let hold = self.config.retry.refusal_hold(self.refusals.streak);
                    let until = now.saturating_add(hold);
                    self.events.push_back(Event::TokenRefusedAgain {
                        token: token.id,
                        refusals: self.refusals.streak,
                        next_taken_at: until,
                    });
                    until
                } else {
                    self.refusals.streak = 0;
                    now
                };
                refusals.hold_until = Some(until);
                until
            }
        };
        let taken = now >= hold_until;
        if taken {
            self.refusals.replacing = true;
        }
        taken
    }
}
