//! The node's background workers (billing, webhooks, e-mail) and how they stop: on SIGTERM the
//! HTTP server stops accepting and finishes the requests in flight (actix-web's graceful
//! shutdown, bounded by `PORTAL_SHUTDOWN_TIMEOUT_SECONDS`); then the workers are told to stop.
//! Each finishes the unit of work it holds — a billing pass, the e-mails it claimed, the
//! webhook deliveries in flight, each recorded — and claims nothing more, so no lease is left
//! for another replica to wait out. Work left past the bound is abandoned as after a crash:
//! its leases expire and another node takes it.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Clone)]
pub struct Workers {
    stop: Arc<watch::Sender<bool>>,
    running: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            stop: Arc::new(watch::channel(false).0),
            running: Arc::default(),
        }
    }
}

/// A worker's view of the stop signal.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Whether the node is shutting down: claim nothing more.
    pub fn now(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits `pause`, or less if the node starts shutting down meanwhile; true when it has.
    pub async fn pause(&mut self, pause: Duration) -> bool {
        if self.now() {
            return true;
        }
        tokio::select! {
            () = actix_web::rt::time::sleep(pause) => self.now(),
            _ = self.0.changed() => true,
        }
    }
}

impl Workers {
    /// Runs a worker on this node's runtime; [`Workers::stop`] waits for it.
    pub fn spawn<F>(&self, worker: impl FnOnce(Stopping) -> F)
    where
        F: Future<Output = ()> + 'static,
    {
        let handle = actix_web::rt::spawn(worker(Stopping(self.stop.subscribe())));
        self.running.lock().expect("not poisoned").push(handle);
    }

    /// Tells every worker to stop and waits, at most `within`, for them to finish what they
    /// hold. True when all did.
    pub async fn stop(&self, within: Duration) -> bool {
        self.stop.send_replace(true);
        let running: Vec<_> = std::mem::take(&mut *self.running.lock().expect("not poisoned"));
        let all = futures_util::future::join_all(running);
        actix_web::rt::time::timeout(within, all).await.is_ok()
    }
}
