//! A request or a store operation given up at its deadline, and a caller's wait for a change
//! given up at its own, on the driver's timer: what both drivers (the source's and the pool's)
//! do.

use seekpass_oauth::http::Response;
use seekpass_oauth::{StoreAnswer, StoreError, StoreErrorKind, TransportError, TransportErrorKind};
use seekpass_oauth_driver::{Outgoing, StoreWork};

use event_listener::EventListener;
use futures_lite::future;

use crate::sender::Sender;
use crate::store::Store;
use crate::timer::{Sleep, Timer};

/// Sends `outgoing`; a timeout at its deadline.
pub(crate) async fn send(
    timer: &dyn Timer,
    sender: &impl Sender,
    outgoing: Outgoing,
) -> Result<Response<Vec<u8>>, TransportError> {
    let deadline = timer.sleep_until(outgoing.deadline);
    future::or(sender.send(outgoing.request, outgoing.max_body), async {
        deadline.await;
        Err(TransportError::new(
            TransportErrorKind::Timeout,
            "no answer by the request deadline",
        ))
    })
    .await
}

/// Performs `work` on `store`; a timeout at its deadline, and `Unavailable` without a store
/// (`missing` says where one is given).
pub(crate) async fn run_store(
    timer: &dyn Timer,
    store: Option<&dyn Store>,
    work: &StoreWork,
    missing: &'static str,
) -> Result<StoreAnswer, StoreError> {
    let Some(store) = store else {
        return Err(StoreError::new(StoreErrorKind::Unavailable, missing));
    };
    let deadline = timer.sleep_until(work.deadline);
    future::or(store.run(&work.command), async {
        deadline.await;
        Err(StoreError::new(
            StoreErrorKind::Timeout,
            "no answer by the operation's deadline",
        ))
    })
    .await
}

/// Waits for `changed` until `timeout` fires: whether the change came first.
pub(crate) async fn changed(changed: EventListener, timeout: &mut Sleep) -> bool {
    future::or(
        async {
            changed.await;
            true
        },
        async {
            timeout.await;
            false
        },
    )
    .await
}
