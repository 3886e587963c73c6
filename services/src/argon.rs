//! The Argon2 pool: password hashing is deliberately expensive (19 MiB and tens of
//! milliseconds each), so it runs a bounded number at a time, off the async workers, and
//! one check per account at a time.

/// Runs Argon2id work (19 MiB and tens of milliseconds each) on the blocking pool, at most
/// one hash per core at a time: unbounded, a burst of logins took 19 MiB apiece (a
/// benchmark with 8 concurrent logins reached 1.9 GiB RSS). The memory itself is reused
/// (`tessera_core::password`), so it stays at one block per concurrent hash.
///
/// Callers queue for a slot here, first come first served, before a blocking thread is
/// involved. Waiting inside the blocking task instead (as this did before) parked one
/// thread per queued login and woke them in no particular order: at 32 concurrent logins
/// p99 was 490 ms against a 270 ms p50; queued here it is 285 ms, at the same throughput
/// (`tessera-bench` login). The slot travels into the blocking task, so it is held until
/// the hash is done even if the request that asked for it has gone. Tokio's semaphore
/// works across runtimes, which tests rely on (several share this process).
pub async fn argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    argon2_slot()
        .await
        .map_err(|Busy| "busy: too many password checks waiting".to_owned())?
        .run(work)
        .await
}

/// At most this many password checks wait for an Argon2 slot; beyond that the answer is
/// "busy, try again" at once (the policy file's bound).
pub use tessera_core::policy::ARGON2_QUEUE;

/// Every Argon2 slot is taken and [`ARGON2_QUEUE`] callers already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A taken Argon2 slot: [`ArgonSlot::run`] hashes with it.
pub struct ArgonSlot(tokio::sync::OwnedSemaphorePermit);

impl ArgonSlot {
    pub async fn run<T: Send + 'static>(self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let slot = self.0;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| e.to_string())
    }
}

/// Waits for an Argon2 slot, unless [`ARGON2_QUEUE`] callers already wait.
pub async fn argon2_slot() -> Result<ArgonSlot, Busy> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    /// Counts one waiter while alive (a caller that goes away stops counting).
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let slots = argon_slots().clone();
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return Ok(ArgonSlot(permit));
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= ARGON2_QUEUE {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(Busy);
    }
    let _waiting = Waiting;
    slots.acquire_owned().await.map(ArgonSlot).map_err(|_| Busy)
}

/// `available_parallelism()` slots for Argon2 work.
fn argon_slots() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        std::sync::Arc::new(tokio::sync::Semaphore::new(n))
    })
}

/// One password check per account at a time on this instance (#18 item 3): a burst of
/// concurrent guesses at one account would otherwise all pass the back-off check before
/// any of them was counted. The others wait their turn (a double-clicked "Sign in" still
/// works) and then see the back-off as the previous attempt left it; a turn not given
/// within [`ACCOUNT_TURN_WAIT`] is answered "busy".
pub struct AccountTurn {
    key: String,
    // Dropped after `drop` below has run: the entry is removed while still held.
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// The longest wait for an account's turn.
pub const ACCOUNT_TURN_WAIT: std::time::Duration =
    std::time::Duration::from_secs(tessera_core::policy::ACCOUNT_TURN_WAIT);

type TurnMap = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>;

fn turns() -> &'static TurnMap {
    static MAP: std::sync::OnceLock<TurnMap> = std::sync::OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// Forgets `key`'s lock when nobody holds or waits for it (only the map's copy and, while
/// dropping a turn, the turn's own are left).
fn forget_turn(key: &str, others: usize) {
    let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
    if map
        .get(key)
        .is_some_and(|lock| std::sync::Arc::strong_count(lock) <= 1 + others)
    {
        map.remove(key);
    }
}

/// Waits for this account's turn (see [`AccountTurn`]).
pub async fn account_turn(account_key: &str) -> Result<AccountTurn, Busy> {
    let lock = {
        let mut map = turns().lock().unwrap_or_else(|e| e.into_inner());
        map.entry(account_key.to_owned()).or_default().clone()
    };
    match tokio::time::timeout(ACCOUNT_TURN_WAIT, lock.lock_owned()).await {
        Ok(held) => Ok(AccountTurn {
            key: account_key.to_owned(),
            _held: held,
        }),
        Err(_) => {
            forget_turn(account_key, 0);
            Err(Busy)
        }
    }
}

impl Drop for AccountTurn {
    fn drop(&mut self) {
        forget_turn(&self.key, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, not two: the slots are one per process, shared by every test here.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn argon2_work_runs_one_per_core_and_keeps_its_slot_until_done() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::time::Duration;

        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..cores * 4)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(argon2(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                }))
            })
            .collect();
        for (i, job) in jobs.into_iter().enumerate() {
            assert_eq!(job.await.unwrap(), Ok(i));
        }
        assert_eq!(
            peak.load(Ordering::SeqCst),
            cores,
            "at most (and, queued, exactly) one per core"
        );

        // A caller that goes away mid-hash: the slot stays taken until the work is done.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
        let abandoned = tokio::spawn(argon2(move || {
            started_tx.send(()).unwrap();
            finish_rx.recv_timeout(Duration::from_secs(10)).ok();
        }));
        tokio::task::spawn_blocking(move || started_rx.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .unwrap();
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert_eq!(argon_slots().available_permits(), cores - 1, "still hashing: slot held");
        finish_tx.send(()).unwrap();
        for _ in 0..500 {
            if argon_slots().available_permits() == cores {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the slot was not given back after the work finished");
    }
}
