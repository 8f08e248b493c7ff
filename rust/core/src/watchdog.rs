//! Time limits for JSONata evaluations without reading the clock at every step.
//!
//! The evaluator can bound its own time, but then it reads the clock at every node it
//! evaluates: a tenth of the time of a typical short expression. Instead, each evaluation with
//! a time limit gets a cancellation token (a flag the evaluator tests, which costs next to
//! nothing), and one background thread, ticking every few milliseconds while deadlines are
//! armed, cancels the token of any evaluation that outlives its deadline. Arming and disarming
//! take a short uncontended lock each, and wake nobody: the thread parks only after a spell with
//! nothing armed, and is unparked then.

use jsonata_core::evaluator::CancelToken;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How often the watcher looks at the deadlines: a deadline is met within this much.
const TICK: Duration = Duration::from_millis(2);
/// Ticks with nothing armed before the watcher parks.
const IDLE_TICKS: u32 = 500;

struct Deadlines {
    entries: Vec<(Instant, u64, CancelToken)>,
    next_id: u64,
}

static DEADLINES: Mutex<Deadlines> = Mutex::new(Deadlines {
    entries: Vec::new(),
    next_id: 0,
});
/// The watching thread, once started.
static WATCHER: Mutex<Option<Thread>> = Mutex::new(None);
static STARTED: AtomicBool = AtomicBool::new(false);
static FORKED: AtomicBool = AtomicBool::new(false);
static PARKED: AtomicBool = AtomicBool::new(false);

/// A list whose holder panicked is still a valid list.
fn relock<T>(mutex: &'static Mutex<T>) -> MutexGuard<'static, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watch() {
    let mut idle = 0;
    loop {
        let empty = {
            let now = Instant::now();
            let mut deadlines = relock(&DEADLINES);
            deadlines.entries.retain(|(deadline, _, token)| {
                let due = *deadline <= now;
                if due {
                    token.cancel();
                }
                !due
            });
            deadlines.entries.is_empty()
        };
        idle = if empty { idle + 1 } else { 0 };
        if idle < IDLE_TICKS {
            std::thread::sleep(TICK);
            continue;
        }
        // Announce the park before the last look: an `arm` that pushes after that look sees
        // PARKED and unparks (an unpark before the park makes the park return at once).
        PARKED.store(true, Ordering::SeqCst);
        if relock(&DEADLINES).entries.is_empty() {
            std::thread::park();
        }
        PARKED.store(false, Ordering::SeqCst);
        idle = 0;
    }
}

/// Starts the watcher unless it runs; false when no thread can be started.
fn ensure_watcher() -> bool {
    let mut watcher = relock(&WATCHER);
    if watcher.is_none() {
        match std::thread::Builder::new()
            .name("expressway-jsonata-watchdog".into())
            .spawn(watch)
        {
            Ok(handle) => {
                *watcher = Some(handle.thread().clone());
                STARTED.store(true, Ordering::SeqCst);
            }
            Err(_) => return false,
        }
    }
    true
}

/// To be called in the child after a fork. The parent's watcher thread does not exist there,
/// and a lock it held at the moment of the fork would stay locked for good; so the child never
/// touches the watchdog again (not even to lock it) and its evaluations bound their time with
/// the evaluator's own clock instead.
pub fn after_fork_in_child() {
    FORKED.store(true, Ordering::SeqCst);
}

/// Keeps a deadline armed; dropping it disarms it.
pub struct Armed {
    id: u64,
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut deadlines = relock(&DEADLINES);
        if let Some(at) = deadlines
            .entries
            .iter()
            .position(|entry| entry.1 == self.id)
        {
            deadlines.entries.swap_remove(at);
        }
    }
}

/// A token cancelled once `timeout` has passed, unless the returned guard is dropped first;
/// `None` when no watching thread can be started, or in a forked child (the caller then bounds
/// the time itself).
pub fn arm(timeout: Duration) -> Option<(CancelToken, Armed)> {
    if FORKED.load(Ordering::Relaxed) {
        return None;
    }
    let deadline = Instant::now().checked_add(timeout)?;
    let token = CancelToken::new();
    let id = {
        let mut deadlines = relock(&DEADLINES);
        deadlines.next_id += 1;
        let id = deadlines.next_id;
        deadlines.entries.push((deadline, id, token.clone()));
        id
    };
    let armed = Armed { id };
    if PARKED.load(Ordering::SeqCst) || !STARTED.load(Ordering::Relaxed) {
        if !ensure_watcher() {
            return None;
        }
        if let Some(thread) = relock(&WATCHER).as_ref() {
            thread.unpark();
        }
    }
    Some((token, armed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_cancels_its_token_and_a_disarmed_one_does_not() {
        let (late, _kept) = arm(Duration::from_millis(20)).expect("a watcher thread");
        let (early, disarmed) = arm(Duration::from_millis(10)).expect("a watcher thread");
        drop(disarmed);
        let (long, _long) = arm(Duration::from_secs(60)).expect("a watcher thread");
        let started = Instant::now();
        while !late.is_cancelled() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(late.is_cancelled());
        assert!(!early.is_cancelled());
        assert!(!long.is_cancelled());
    }
}
