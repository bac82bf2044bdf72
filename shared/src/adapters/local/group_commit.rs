//! Group commit for the local directories (the spool and the idempotency marks): a writer that
//! has written and fsynced its file, and linked or renamed it into place, waits for an fsync of
//! the directory that *began after* its link; whoever finds no fsync running starts one for
//! everyone waiting. Concurrent writers so share one directory fsync instead of paying one each,
//! and each is still answered only once its own entry is durable.
//!
//! Blocking: call it from `spawn_blocking` or a thread of its own, never on the async runtime.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// How one round makes the directory durable (an fsync of it; a test hook in tests).
type SyncFn = Box<dyn Fn() -> io::Result<()> + Send + Sync>;

/// Shares the fsyncs of one directory among concurrent writers.
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    finished: Condvar,
    sync: SyncFn,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// The number of the round that starts next (the first is 0).
    next: u64,
    /// Whether a round is running (it is then round `next - 1`).
    running: bool,
    /// The rounds someone waits for: how many wait, and the outcome once the round is over.
    rounds: HashMap<u64, Round>,
    /// Rounds finished, for tests and logs.
    finished: u64,
}

#[derive(Debug, Default)]
struct Round {
    waiters: usize,
    outcome: Option<Result<(), (io::ErrorKind, String)>>,
}

impl GroupCommit {
    /// Rounds fsync `dir`, opened afresh each time (a directory replaced meanwhile is the one synced).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self::with_sync(move || std::fs::File::open(&dir)?.sync_all())
    }

    /// Rounds run `sync` instead (tests count, delay or fail them).
    pub(crate) fn with_sync(sync: impl Fn() -> io::Result<()> + Send + Sync + 'static) -> Self {
        Self {
            state: Mutex::new(State::default()),
            finished: Condvar::new(),
            sync: Box::new(sync),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the counters consistent: no update spans a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once a round that began after this call has finished: `Ok` when it synced, the
    /// round's error (for every one of its waiters) when it did not.
    pub(crate) fn sync(&self) -> io::Result<()> {
        let mut state = self.lock();
        // A round running now may have begun before the caller's write: the next one covers it.
        let mine = state.next;
        state.rounds.entry(mine).or_default().waiters += 1;
        loop {
            let round = state.rounds.get_mut(&mine).expect("registered above");
            if let Some(outcome) = &round.outcome {
                let outcome = outcome
                    .clone()
                    .map_err(|(kind, message)| io::Error::new(kind, message));
                round.waiters -= 1;
                if round.waiters == 0 {
                    state.rounds.remove(&mine);
                }
                return outcome;
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // Nothing runs and this caller's round has not begun, so it is the next: lead it.
            debug_assert_eq!(state.next, mine);
            state.running = true;
            state.next += 1;
            drop(state);
            let outcome = (self.sync)().map_err(|e| (e.kind(), e.to_string()));
            state = self.lock();
            state.running = false;
            state.finished += 1;
            state
                .rounds
                .get_mut(&mine)
                .expect("registered above")
                .outcome = Some(outcome);
            self.finished.notify_all();
        }
    }

    /// Rounds finished so far.
    #[cfg(test)]
    pub(crate) fn rounds(&self) -> u64 {
        self.lock().finished
    }

    /// Callers waiting for a round (tests wait for writers to line up).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.lock().rounds.values().map(|r| r.waiters).sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    /// A sync hook whose rounds block until a token is sent, and fail when told to.
    struct Gate {
        go: Mutex<mpsc::Receiver<Result<(), io::ErrorKind>>>,
        started: AtomicU64,
    }

    fn gated() -> (
        Arc<GroupCommit>,
        Arc<Gate>,
        mpsc::Sender<Result<(), io::ErrorKind>>,
    ) {
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new(Gate {
            go: Mutex::new(rx),
            started: AtomicU64::new(0),
        });
        let hook = gate.clone();
        let commit = GroupCommit::with_sync(move || {
            hook.started.fetch_add(1, Ordering::SeqCst);
            let next = hook.go.lock().expect("gate").recv();
            next.expect("the test sends a token per round")
                .map_err(|kind| io::Error::new(kind, "injected"))
        });
        (Arc::new(commit), gate, tx)
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..2000 {
            if done() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("timed out waiting until {what}");
    }

    #[test]
    fn writers_that_arrive_during_a_round_share_the_next_one() {
        let (commit, gate, go) = gated();
        let first = {
            let commit = commit.clone();
            std::thread::spawn(move || commit.sync())
        };
        wait_until("the first round runs", || {
            gate.started.load(Ordering::SeqCst) == 1
        });
        // 20 writers arrive while round 0 runs: round 0 may have begun before their writes.
        let later: Vec<_> = (0..20)
            .map(|_| {
                let commit = commit.clone();
                std::thread::spawn(move || {
                    let outcome = commit.sync();
                    (outcome, commit.rounds())
                })
            })
            .collect();
        wait_until("all 21 wait", || commit.waiting() == 21);
        go.send(Ok(())).expect("round 0");
        first.join().expect("joined").expect("round 0 synced");
        wait_until("round 1 runs", || gate.started.load(Ordering::SeqCst) == 2);
        assert_eq!(commit.rounds(), 1, "round 1 has not finished");
        go.send(Ok(())).expect("round 1");
        for writer in later {
            let (outcome, rounds_seen) = writer.join().expect("joined");
            outcome.expect("synced");
            assert_eq!(
                rounds_seen, 2,
                "answered only after the round that covers it"
            );
        }
        assert_eq!(commit.rounds(), 2, "21 writers, 2 fsyncs");
        assert_eq!(commit.waiting(), 0);
    }

    #[test]
    fn a_failed_round_fails_every_one_of_its_writers_and_no_other() {
        let (commit, gate, go) = gated();
        let first = {
            let commit = commit.clone();
            std::thread::spawn(move || commit.sync())
        };
        wait_until("round 0 runs", || gate.started.load(Ordering::SeqCst) == 1);
        let later: Vec<_> = (0..8)
            .map(|_| {
                let commit = commit.clone();
                std::thread::spawn(move || commit.sync())
            })
            .collect();
        wait_until("all 9 wait", || commit.waiting() == 9);
        go.send(Ok(())).expect("round 0");
        go.send(Err(io::ErrorKind::Other)).expect("round 1 fails");
        first.join().expect("joined").expect("round 0 synced");
        for writer in later {
            let e = writer.join().expect("joined").expect_err("round 1 failed");
            assert_eq!(e.kind(), io::ErrorKind::Other);
        }
        // The failure is not remembered: the next writer gets a round of its own.
        go.send(Ok(())).expect("round 2");
        commit.sync().expect("round 2 synced");
        assert_eq!(commit.rounds(), 3);
    }

    #[test]
    fn a_lone_writer_gets_a_round_of_its_own_each_time() {
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        let commit = GroupCommit::with_sync(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        for _ in 0..3 {
            commit.sync().expect("synced");
        }
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_real_directory_syncs_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        GroupCommit::new(dir.path().to_owned())
            .sync()
            .expect("synced");
        let gone = GroupCommit::new(dir.path().join("gone"));
        assert_eq!(
            gone.sync().expect_err("no directory").kind(),
            io::ErrorKind::NotFound
        );
    }
}
