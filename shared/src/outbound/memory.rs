//! In-memory fakes of the outbound ports, for unit tests of the core. They keep the same rules as
//! the real adapters (atomic health, one probe, per-second tokens, one task per key) with a lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::model::{Attempt, Disabled, Endpoint, Health, Millis, State, Task};
use super::ports::{AttemptQuery, Attempts, Endpoints, Notice, Notices, Settle, Tasks};
use crate::ports::failure::StoreError;

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Endpoints, their health and their rate-limit windows.
#[derive(Debug, Default)]
pub struct MemoryEndpoints {
    endpoints: Mutex<BTreeMap<String, (Endpoint, Health)>>,
    windows: Mutex<HashMap<(String, Millis), u32>>,
}

impl Endpoints for MemoryEndpoints {
    async fn create(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let mut all = locked(&self.endpoints);
        if all.contains_key(&endpoint.id) {
            return Err(StoreError::permanent("an endpoint with this id exists"));
        }
        all.insert(endpoint.id.clone(), (endpoint.clone(), Health::default()));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        Ok(locked(&self.endpoints).get(id).map(|(e, _)| e.clone()))
    }

    async fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        Ok(locked(&self.endpoints)
            .values()
            .map(|(e, _)| e.clone())
            .collect())
    }

    async fn update(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        Ok(match locked(&self.endpoints).get_mut(&endpoint.id) {
            Some((e, _)) => {
                // Only disable and enable switch an endpoint off and on.
                *e = Endpoint {
                    disabled: e.disabled,
                    ..endpoint.clone()
                };
                true
            }
            None => false,
        })
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(locked(&self.endpoints).remove(id).is_some())
    }

    async fn disable(&self, id: &str, disabled: Disabled) -> Result<bool, StoreError> {
        Ok(match locked(&self.endpoints).get_mut(id) {
            Some((e, _)) if e.disabled.is_none() => {
                e.disabled = Some(disabled);
                true
            }
            _ => false,
        })
    }

    async fn enable(&self, id: &str) -> Result<bool, StoreError> {
        Ok(match locked(&self.endpoints).get_mut(id) {
            Some((e, h)) => {
                e.disabled = None;
                *h = Health::default();
                true
            }
            None => false,
        })
    }

    async fn health(&self, id: &str) -> Result<Health, StoreError> {
        Ok(locked(&self.endpoints)
            .get(id)
            .map(|(_, h)| *h)
            .unwrap_or_default())
    }

    async fn record(&self, id: &str, success: bool, now: Millis) -> Result<Health, StoreError> {
        let mut all = locked(&self.endpoints);
        let Some((_, h)) = all.get_mut(id) else {
            return Ok(Health::default());
        };
        if success {
            *h = Health {
                last_success: Some(now),
                last_failure: h.last_failure,
                ..Health::default()
            };
        } else {
            h.consecutive_failures += 1;
            h.failing_since.get_or_insert(now);
            h.last_failure = Some(now);
            h.probe_until = None;
        }
        Ok(*h)
    }

    async fn acquire_probe(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let mut all = locked(&self.endpoints);
        Ok(match all.get_mut(id) {
            Some((_, h)) if h.probe_until.is_none_or(|t| t <= now) => {
                h.probe_until = Some(until);
                true
            }
            _ => false,
        })
    }

    async fn take_token(&self, id: &str, limit: u32, now: Millis) -> Result<bool, StoreError> {
        let mut windows = locked(&self.windows);
        let taken = windows
            .entry((id.to_owned(), now.div_euclid(1000)))
            .or_default();
        Ok(if *taken < limit {
            *taken += 1;
            true
        } else {
            false
        })
    }
}

/// Tasks, and what became of each: the settlements are kept in order for tests to read.
#[derive(Debug, Default)]
pub struct MemoryTasks {
    tasks: Mutex<BTreeMap<String, (Task, State)>>,
    settled: Mutex<Vec<(String, Settle)>>,
}

impl MemoryTasks {
    /// Every (task key, settlement) so far, oldest first.
    pub fn settled(&self) -> Vec<(String, Settle)> {
        locked(&self.settled).clone()
    }

    pub fn tasks(&self) -> Vec<(Task, State)> {
        locked(&self.tasks).values().cloned().collect()
    }
}

impl Tasks for MemoryTasks {
    type Lease = ();

    async fn create(&self, task: &Task) -> Result<bool, StoreError> {
        let mut tasks = locked(&self.tasks);
        if tasks.contains_key(&task.key()) {
            return Ok(false);
        }
        tasks.insert(task.key(), (task.clone(), State::Pending));
        Ok(true)
    }

    async fn state(&self, key: &str) -> Result<Option<State>, StoreError> {
        Ok(locked(&self.tasks).get(key).map(|(_, s)| *s))
    }

    async fn settle(&self, task: &Task, _: &(), settle: Settle) -> Result<(), StoreError> {
        let mut tasks = locked(&self.tasks);
        locked(&self.settled).push((task.key(), settle.clone()));
        // A task that is gone (dropped) stays gone.
        let Some(entry) = tasks.get_mut(&task.key()) else {
            return Ok(());
        };
        match &settle {
            Settle::Delivered => entry.1 = State::Delivered,
            Settle::Parked { .. } => entry.1 = State::Parked,
            Settle::Retry { attempt, due_at } => {
                entry.0.attempt = *attempt;
                entry.0.due_at = *due_at;
            }
            Settle::Wait { until } => entry.0.due_at = *until,
            Settle::Dropped => {
                tasks.remove(&task.key());
            }
            Settle::Duplicate => {}
        }
        Ok(())
    }
}

/// The attempt log.
#[derive(Debug, Default)]
pub struct MemoryAttempts {
    attempts: Mutex<Vec<Attempt>>,
}

impl Attempts for MemoryAttempts {
    async fn record(&self, attempt: &Attempt, _expires: Millis) -> Result<(), StoreError> {
        locked(&self.attempts).push(attempt.clone());
        Ok(())
    }

    async fn list(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        let all = locked(&self.attempts);
        Ok(all
            .iter()
            .rev()
            .filter(|a| {
                query
                    .endpoint_id
                    .as_ref()
                    .is_none_or(|e| *e == a.endpoint_id)
            })
            .filter(|a| query.event_id.as_ref().is_none_or(|e| *e == a.event_id))
            .take(if query.limit == 0 {
                usize::MAX
            } else {
                query.limit
            })
            .cloned()
            .collect())
    }
}

/// Operational events, kept in order.
#[derive(Debug, Default)]
pub struct MemoryNotices {
    notices: Mutex<Vec<Notice>>,
}

impl MemoryNotices {
    pub fn all(&self) -> Vec<Notice> {
        locked(&self.notices).clone()
    }
}

impl Notices for MemoryNotices {
    async fn notify(&self, notice: &Notice) -> Result<(), StoreError> {
        locked(&self.notices).push(notice.clone());
        Ok(())
    }
}
