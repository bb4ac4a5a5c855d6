//! Revocations from every instance applied to this one's caches: a task that follows the
//! bus's `auth` topic. Revocations made here were applied already when they were published;
//! those from other instances arrive through the bus's Redis bridge at once. Without Redis
//! (or while it is down) other instances' revocations reach this one when its cache entry
//! expires (30 s). The same listener closes this instance's sockets and streams of the
//! revoked credential (4403).

use std::sync::Arc;

use tokio::{sync::broadcast::error::RecvError, sync::watch, task::JoinHandle};

use super::session::Authenticator;
use crate::{
    events::{Event, EventBus, Topic},
    graphql::transport::sockets::Sockets,
};

/// Follows the `auth` topic until `stop`.
pub fn listen(
    bus: &EventBus,
    auth: Arc<Authenticator>,
    sockets: Arc<Sockets>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut events = bus.subscribe(Topic::Auth);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = async { let _ = stop.wait_for(|s| *s).await; } => break,
                event = events.recv() => match event {
                    Ok(event) => {
                        if let Event::Revoked(revocation) = event.as_ref() {
                            auth.apply(revocation).await;
                            sockets.revoke(revocation);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        // Dropping a few cache entries late beats stopping: they expire anyway.
                        tracing::warn!(missed, "the revocation listener fell behind");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    })
}
