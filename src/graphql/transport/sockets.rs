//! The long-lived connections of this instance — WebSockets and SSE streams — for the three
//! things that need them all in one place: the connection limits (per instance and per
//! user), closing every connection of a revoked credential on the bus's word, and closing
//! everything on shutdown.
//!
//! A connection holds an [`Admission`] for as long as it lives; dropping it gives the slot
//! back. The connection watches [`Admission::closed`] and ends itself with the code it finds
//! there, so the server never waits for a client to notice a revocation.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;

use crate::{auth::Caller, config::SocketConfig, events::Revocation, telemetry::Metrics};

/// Why the server ends a connection, as a WebSocket close code and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// The credential was revoked, or its user's role or workshops changed.
    pub const REVOKED: Self = Self {
        code: 4403,
        reason: "Forbidden: the session was revoked or changed",
    };
    /// The access token expired.
    pub const EXPIRED: Self = Self {
        code: 4403,
        reason: "Forbidden: the access token expired",
    };
    /// The server is shutting down.
    pub const SHUTDOWN: Self = Self {
        code: 1001,
        reason: "the server is shutting down",
    };
    /// Too many connections on the instance or for the user.
    pub const TOO_MANY: Self = Self {
        code: 4429,
        reason: "Too many connections",
    };
}

/// What a connection authenticated with, so a revocation finds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A user's session (JWT `sid`).
    Session(String),
    /// A gateway API token, by hash.
    ApiToken(String),
}

impl Credential {
    /// The credential a caller came with: its session, or the hash of the gateway token in
    /// `bearer`.
    pub fn of(caller: &Caller, bearer: Option<&str>) -> Option<Self> {
        if let Some(sid) = &caller.session_id {
            return Some(Self::Session(sid.clone()));
        }
        caller.api_token_id?;
        let token = bearer?.trim();
        let token = token
            .strip_prefix("Bearer ")
            .or_else(|| token.strip_prefix("bearer "))
            .unwrap_or(token)
            .trim();
        Some(Self::ApiToken(crate::service::session::hash_secret(token)))
    }

    fn matches(&self, revocation: &Revocation) -> bool {
        match (self, revocation) {
            (Self::Session(a), Revocation::Session(b))
            | (Self::ApiToken(a), Revocation::ApiToken(b)) => a == b,
            _ => false,
        }
    }
}

/// Every connection of the instance.
pub struct Sockets {
    inner: Mutex<Inner>,
    max_connections: usize,
    max_per_user: usize,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    connections: HashMap<u64, Entry>,
    per_user: HashMap<i64, usize>,
    shutting_down: bool,
}

struct Entry {
    close: watch::Sender<Option<Close>>,
    user_id: Option<i64>,
    credential: Option<Credential>,
}

/// One connection's place in the registry; dropping it frees the place.
pub struct Admission {
    id: u64,
    transport: &'static str,
    sockets: Arc<Sockets>,
    /// Becomes `Some` when the server wants the connection closed, and with what.
    pub closed: watch::Receiver<Option<Close>>,
}

impl Sockets {
    /// An empty registry with the configured limits.
    pub fn new(config: &SocketConfig, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            max_connections: config.max_connections,
            max_per_user: config.max_per_user,
            metrics,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection, unless the instance is full or shutting down.
    pub fn admit(self: &Arc<Self>, transport: &'static str) -> Result<Admission, Close> {
        let mut inner = self.lock();
        if inner.shutting_down {
            return Err(Close::SHUTDOWN);
        }
        if inner.connections.len() >= self.max_connections {
            return Err(Close::TOO_MANY);
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let (close, closed) = watch::channel(None);
        inner.connections.insert(
            id,
            Entry {
                close,
                user_id: None,
                credential: None,
            },
        );
        drop(inner);
        self.metrics.connections(transport, 1);
        Ok(Admission {
            id,
            transport,
            sockets: self.clone(),
            closed,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().connections.len()
    }

    /// Asks every connection of the revoked credential to close (4403).
    pub fn revoke(&self, revocation: &Revocation) {
        let inner = self.lock();
        for entry in inner.connections.values() {
            if entry
                .credential
                .as_ref()
                .is_some_and(|c| c.matches(revocation))
            {
                entry.close.send_replace(Some(Close::REVOKED));
            }
        }
    }

    /// Refuses new connections and asks every open one to close (1001).
    pub fn shut_down(&self) {
        let mut inner = self.lock();
        inner.shutting_down = true;
        for entry in inner.connections.values() {
            entry.close.send_replace(Some(Close::SHUTDOWN));
        }
    }
}

impl Admission {
    /// Records who the connection belongs to, unless that user holds too many already.
    pub fn identify(&self, caller: &Caller, credential: Option<Credential>) -> Result<(), Close> {
        let mut inner = self.sockets.lock();
        let inner = &mut *inner;
        if let Some(user_id) = caller.user_id {
            let held = inner.per_user.entry(user_id).or_default();
            if *held >= self.sockets.max_per_user {
                return Err(Close::TOO_MANY);
            }
            *held += 1;
        }
        if let Some(entry) = inner.connections.get_mut(&self.id) {
            entry.user_id = caller.user_id;
            entry.credential = credential;
        }
        Ok(())
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut inner = self.sockets.lock();
        if let Some(entry) = inner.connections.remove(&self.id)
            && let Some(user_id) = entry.user_id
            && let Some(held) = inner.per_user.get_mut(&user_id)
        {
            *held = held.saturating_sub(1);
            if *held == 0 {
                inner.per_user.remove(&user_id);
            }
        }
        drop(inner);
        self.sockets.metrics.connections(self.transport, -1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, sid: &str) -> Caller {
        Caller {
            user_id: Some(id),
            session_id: Some(sid.to_owned()),
            ..Caller::anonymous()
        }
    }

    fn registry(max_connections: usize, max_per_user: usize) -> Arc<Sockets> {
        Arc::new(Sockets {
            inner: Mutex::new(Inner::default()),
            max_connections,
            max_per_user,
            metrics: Arc::new(Metrics::new()),
        })
    }

    #[test]
    fn limits_count_open_connections_and_give_places_back() {
        let sockets = registry(2, 1);
        let a = sockets.admit("ws").expect("first");
        let b = sockets.admit("ws").expect("second");
        assert_eq!(sockets.admit("ws").err(), Some(Close::TOO_MANY));
        a.identify(&user(1, "s1"), None).expect("user 1, first");
        assert_eq!(b.identify(&user(1, "s2"), None), Err(Close::TOO_MANY));
        drop(a);
        b.identify(&user(1, "s2"), None)
            .expect("user 1 again, after the first left");
        let _c = sockets.admit("sse").expect("a place was freed");
        assert_eq!(sockets.open(), 2);
    }

    #[test]
    fn a_revocation_closes_only_the_connections_of_that_credential() {
        let sockets = registry(10, 10);
        let a = sockets.admit("ws").expect("a");
        let b = sockets.admit("ws").expect("b");
        let caller = user(1, "s1");
        a.identify(&caller, Credential::of(&caller, None))
            .expect("a");
        let other = user(2, "s2");
        b.identify(&other, Credential::of(&other, None)).expect("b");
        sockets.revoke(&Revocation::Session("s1".into()));
        assert_eq!(*a.closed.borrow(), Some(Close::REVOKED));
        assert_eq!(*b.closed.borrow(), None);
        sockets.shut_down();
        assert_eq!(*b.closed.borrow(), Some(Close::SHUTDOWN));
        assert_eq!(sockets.admit("ws").err(), Some(Close::SHUTDOWN));
    }
}
