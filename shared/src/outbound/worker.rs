//! The local runtime of the outbound side: `inlet serve` delivers from the local store. Due tasks
//! are leased in batches and delivered concurrently; the worker sleeps until the next task is
//! due, or until a publish wakes it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tracing::{error, warn};

use super::deliver::{deliver, Delivery, Policy, Ports};
use super::fanout::{fan_out, Fanned};
use super::local::{Lease, LocalStore};
use super::model::{now, Body, Event, Millis, Task};
use super::ports::{Endpoints, Notices, Transport};
use super::schedule::unit;
use crate::ports::failure::StoreError;
use crate::ports::queue::QueueError;

/// How long a worker holds a task it is delivering: longer than any attempt takes.
const LEASE_MS: Millis = 120_000;
/// The longest sleep between looks at the store (a publish from another process does not wake
/// this one).
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Publishes `event` locally: fan-out into the store, whose worker delivers it.
pub async fn publish(store: &LocalStore, event: &Event, at: Millis) -> Result<Fanned, StoreError> {
    let endpoints = Endpoints::list(store).await?;
    let body = Body::Inline(String::from_utf8_lossy(&event.body).into_owned());
    fan_out(store, &endpoints, event, &body, at).await
}

/// The local outbox, the relay's for `inlet serve`: an event sent to it is fanned out into the
/// store at once and wakes the worker. Fan-out is idempotent, as on AWS, so a sender's retry
/// relays harmlessly.
#[derive(Debug, Clone)]
pub struct LocalOutbox {
    pub store: LocalStore,
    pub wake: Arc<Notify>,
}

impl crate::ports::queue::Queue for LocalOutbox {
    fn max_message_bytes(&self) -> usize {
        usize::MAX
    }

    async fn send(&self, message: crate::ports::queue::Message) -> Result<String, QueueError> {
        let event = Event::parse(message.body.into_bytes())
            .map_err(|e| QueueError::permanent(e.to_string()))?;
        let fanned = publish(&self.store, &event, now())
            .await
            .map_err(|e| QueueError {
                failure: e.failure,
                too_large: false,
                detail: e.detail,
            })?;
        if !fanned.created.is_empty() {
            self.wake.notify_one();
        }
        Ok(event.id)
    }
}

/// Delivers due tasks until `shutdown` resolves.
#[derive(Debug)]
pub struct Worker<X, N> {
    pub store: LocalStore,
    pub transport: X,
    pub notices: N,
    pub policy: Policy,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Wakes the worker when a task is created in this process.
    pub wake: Arc<Notify>,
}

impl<X: Transport, N: Notices> Worker<X, N> {
    /// Delivers one leased task.
    async fn one(&self, task: Task, lease: Lease, on_delivery: &(dyn Fn(&Delivery) + Sync)) {
        let body = match &task.body {
            Body::Inline(text) => text.as_bytes().to_vec(),
            Body::Stored(path) => match tokio::fs::read(path).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    error!(task = %task.key(), error = %e, "a stored task body cannot be read");
                    return;
                }
            },
        };
        let ports = Ports {
            endpoints: &self.store,
            tasks: &self.store,
            attempts: &self.store,
            notices: &self.notices,
            transport: &self.transport,
        };
        match deliver(&ports, &self.policy, &task, &lease, &body, &now, unit()).await {
            Ok(delivery) => on_delivery(&delivery),
            // The lease runs out and the task is looked at again.
            Err(e) => {
                warn!(task = %task.key(), error = %e, "a delivery could not be settled; it will be tried again")
            }
        }
    }

    /// Runs until `shutdown` resolves. Up to `concurrency` deliveries are in flight, and a free
    /// place is filled as soon as one finishes: a slow endpoint holds its own delivery, not a
    /// batch of others.
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
        on_delivery: &(dyn Fn(&Delivery) + Sync),
    ) {
        tokio::pin!(shutdown);
        let most = self.concurrency.max(1);
        let mut flying = FuturesUnordered::new();
        loop {
            let mut sleep = MAX_SLEEP;
            if flying.len() < most {
                match self.store.due(now(), most - flying.len(), LEASE_MS).await {
                    Ok(due) if !due.is_empty() => {
                        for (task, lease) in due {
                            flying.push(self.one(task, lease, on_delivery));
                        }
                        sleep = Duration::ZERO;
                    }
                    Ok(_) => {
                        if let Ok(Some(at)) = self.store.next_due().await {
                            sleep = Duration::from_millis(u64::try_from(at - now()).unwrap_or(0));
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "the outbound store could not be read; trying again")
                    }
                }
            }
            let sleep = sleep.min(MAX_SLEEP);
            tokio::select! {
                () = &mut shutdown => return,
                // A place is free: look for more at once.
                Some(()) = flying.next(), if !flying.is_empty() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep), if flying.len() < most => {}
            }
        }
    }
}
