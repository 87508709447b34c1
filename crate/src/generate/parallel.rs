//! Ordered parallel execution of generation attempts on native threads (the CLI and the
//! Python package; the browser runs attempts in web workers instead, so wasm32 builds
//! leave this module out).
//!
//! [`run_ordered`] evaluates `f(0), f(1), ...` on a few threads but hands the results to
//! `on_result` on the calling thread strictly in index order. Since attempt `i` depends
//! only on `i` (its seed is `episode_seed(seed, i)`), what the caller sees, and therefore
//! every byte it writes, is the same for any thread count. "Keep the first N successful
//! attempts" is the caller returning [`Flow::Stop`] once it has N; attempts past that
//! point that were already running are computed and discarded.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, MutexGuard};

/// What the consumer wants after seeing one result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RunReport {
    /// Results handed to `on_result` (always indices `0..delivered`).
    pub delivered: u64,
    /// Results computed, including ones discarded after a stop.
    pub computed: u64,
    /// Whether `on_result` asked to stop (otherwise the budget ran out).
    pub stopped: bool,
}

/// Results computed ahead of the next one to deliver, per thread. Bounds memory when one
/// attempt is much slower than the others.
const LOOKAHEAD_PER_THREAD: u64 = 4;

/// Lock, ignoring poisoning: only this module holds the lock and it never panics with it held.
fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Sets the stop flag and wakes every worker when dropped.
struct StopOnDrop<'a> {
    shared: &'a Mutex<Shared>,
    wake: &'a Condvar,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        lock(self.shared).stop = true;
        self.wake.notify_all();
    }
}

struct Shared {
    next_to_take: u64,
    next_to_deliver: u64,
    stop: bool,
}

/// Run `f` on indices `0..budget` with `threads` threads (0 or 1: on the calling thread),
/// delivering `(index, result)` to `on_result` in increasing index order until it returns
/// [`Flow::Stop`] or the budget is used. A panic in `f` stops the run and is re-raised here.
pub fn run_ordered<R, F, C>(threads: usize, budget: u64, f: F, mut on_result: C) -> RunReport
where
    R: Send,
    F: Fn(u64) -> R + Sync,
    C: FnMut(u64, R) -> Flow,
{
    let mut report = RunReport::default();
    if threads <= 1 {
        for i in 0..budget {
            let r = f(i);
            report.computed += 1;
            report.delivered += 1;
            if on_result(i, r) == Flow::Stop {
                report.stopped = true;
                break;
            }
        }
        return report;
    }

    let window = LOOKAHEAD_PER_THREAD * threads as u64;
    let shared = Mutex::new(Shared {
        next_to_take: 0,
        next_to_deliver: 0,
        stop: false,
    });
    let wake = Condvar::new();
    let (tx, rx) = mpsc::channel::<(u64, std::thread::Result<R>)>();

    let mut panic_payload = None;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (shared, wake, f) = (&shared, &wake, &f);
            scope.spawn(move || loop {
                let i = {
                    let mut s = lock(shared);
                    while !s.stop
                        && s.next_to_take < budget
                        && s.next_to_take >= s.next_to_deliver + window
                    {
                        s = match wake.wait(s) {
                            Ok(g) => g,
                            Err(p) => p.into_inner(),
                        };
                    }
                    if s.stop || s.next_to_take >= budget {
                        return;
                    }
                    s.next_to_take += 1;
                    s.next_to_take - 1
                };
                let r = catch_unwind(AssertUnwindSafe(|| f(i)));
                let failed = r.is_err();
                if tx.send((i, r)).is_err() || failed {
                    return;
                }
            });
        }
        drop(tx);
        // Releases waiting workers however this block ends, a panic in `on_result` included.
        let _stop = StopOnDrop {
            shared: &shared,
            wake: &wake,
        };

        let mut pending: BTreeMap<u64, R> = BTreeMap::new();
        let mut next = 0u64;
        'recv: for (i, r) in rx.iter() {
            report.computed += 1;
            match r {
                Ok(v) => {
                    pending.insert(i, v);
                }
                Err(p) => {
                    panic_payload = Some(p);
                    break 'recv;
                }
            }
            while let Some(v) = pending.remove(&next) {
                let flow = on_result(next, v);
                next += 1;
                report.delivered += 1;
                lock(&shared).next_to_deliver = next;
                wake.notify_all();
                if flow == Flow::Stop {
                    report.stopped = true;
                    break 'recv;
                }
            }
        }
        lock(&shared).stop = true;
        wake.notify_all();
        // Workers finish their current attempt; their results are counted and dropped.
        for _ in rx.iter() {
            report.computed += 1;
        }
    });
    if let Some(p) = panic_payload {
        resume_unwind(p);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::mix64;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn attempt_succeeds(i: u64) -> bool {
        !mix64(i ^ 0x5EED).is_multiple_of(3)
    }

    /// Keep the first `n` successes with `threads` threads; also returns every index seen.
    fn first_successes(threads: usize, budget: u64, n: usize) -> (Vec<u64>, Vec<u64>, RunReport) {
        let mut kept = Vec::new();
        let mut seen = Vec::new();
        let report = run_ordered(
            threads,
            budget,
            |i| {
                // Uneven work so that threads finish out of order.
                let mut x = i;
                for _ in 0..(mix64(i) % 2000) {
                    x = mix64(x);
                }
                (attempt_succeeds(i), x)
            },
            |i, (ok, _)| {
                seen.push(i);
                if ok {
                    kept.push(i);
                }
                if kept.len() >= n {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
        );
        (kept, seen, report)
    }

    #[test]
    fn kept_attempts_do_not_depend_on_thread_count() {
        let expected: Vec<u64> = (0..1000)
            .filter(|&i| attempt_succeeds(i))
            .take(50)
            .collect();
        for threads in [1, 2, 4] {
            let (kept, seen, report) = first_successes(threads, 1000, 50);
            assert_eq!(kept, expected, "threads = {threads}");
            let last = *expected.last().unwrap();
            assert_eq!(
                seen,
                (0..=last).collect::<Vec<_>>(),
                "delivered in index order"
            );
            assert!(report.stopped);
            assert_eq!(report.delivered, last + 1);
            assert!(report.computed >= report.delivered);
            assert!(report.computed <= report.delivered + 4 * threads as u64 + threads as u64);
        }
    }

    #[test]
    fn budget_limits_the_run_when_successes_are_scarce() {
        let expected: Vec<u64> = (0..30).filter(|&i| attempt_succeeds(i)).collect();
        assert!(expected.len() < 1000);
        for threads in [1, 2, 4] {
            let (kept, seen, report) = first_successes(threads, 30, 1000);
            assert_eq!(kept, expected);
            assert_eq!(seen.len(), 30);
            assert!(!report.stopped);
            assert_eq!((report.delivered, report.computed), (30, 30));
        }
    }

    #[test]
    fn zero_budget_runs_nothing() {
        let calls = AtomicU64::new(0);
        let r = run_ordered(
            3,
            0,
            |_| calls.fetch_add(1, Ordering::Relaxed),
            |_, _| Flow::Continue,
        );
        assert_eq!(r, RunReport::default());
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn lookahead_is_bounded_by_the_window() {
        // Attempt 0 is slow; the others may run ahead only by the window.
        let started = AtomicU64::new(0);
        let max_ahead = AtomicU64::new(0);
        let threads = 2;
        run_ordered(
            threads,
            200,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    max_ahead.store(started.load(Ordering::SeqCst), Ordering::SeqCst);
                }
                i
            },
            |_, _| Flow::Continue,
        );
        assert!(max_ahead.load(Ordering::SeqCst) <= LOOKAHEAD_PER_THREAD * threads as u64);
        assert_eq!(started.load(Ordering::SeqCst), 200);
    }

    #[test]
    fn a_panicking_consumer_does_not_hang_the_workers() {
        let r = std::panic::catch_unwind(|| {
            run_ordered(
                2,
                10_000,
                |i| i,
                |i, _| {
                    if i == 3 {
                        panic!("consumer failed");
                    }
                    Flow::Continue
                },
            )
        });
        assert!(r.is_err());
    }

    #[test]
    fn a_panicking_attempt_is_reraised() {
        let r = std::panic::catch_unwind(|| {
            run_ordered(
                2,
                100,
                |i| {
                    if i == 7 {
                        panic!("attempt 7 failed");
                    }
                    i
                },
                |_, _| Flow::Continue,
            )
        });
        assert!(r.is_err());
    }
}
