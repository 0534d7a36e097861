//! Faults a test injects into an emulator: queued failures and latency.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// What a test has asked an emulator to get wrong: the next answers fail,
/// one queued fault each, in the order queued; and every answer waits a
/// while before it is made. `F` is what a failure is in that emulator's API
/// (an HTTP status, an IM error code).
///
/// ```
/// use loopback::Faults;
///
/// let faults = Faults::default();
/// faults.fail_next(503u16);
/// faults.fail_next(500);
/// assert_eq!(faults.take(), Some(503));
/// assert_eq!(faults.take(), Some(500));
/// assert_eq!(faults.take(), None);
/// ```
#[derive(Debug)]
pub struct Faults<F> {
    queued: Mutex<VecDeque<F>>,
    latency: Mutex<Duration>,
}

impl<F> Default for Faults<F> {
    fn default() -> Self {
        Self {
            queued: Mutex::new(VecDeque::new()),
            latency: Mutex::new(Duration::ZERO),
        }
    }
}

impl<F> Faults<F> {
    /// Queues `fault` for the first answer that has none yet.
    pub fn fail_next(&self, fault: F) {
        self.queued.lock().unwrap().push_back(fault);
    }

    /// The fault the answer being made gives, if one is queued; taking it
    /// uses it up.
    pub fn take(&self) -> Option<F> {
        self.queued.lock().unwrap().pop_front()
    }

    /// Every answer from now on waits `latency` first (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    /// Waits the latency set, if any: call it before making an answer.
    pub async fn delay(&self) {
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_latency_set_is_waited_before_each_answer() {
        let faults = Faults::<u16>::default();
        let start = std::time::Instant::now();
        faults.delay().await;
        assert!(start.elapsed() < Duration::from_millis(40));
        faults.set_latency(Duration::from_millis(40));
        faults.delay().await;
        faults.delay().await;
        assert!(start.elapsed() >= Duration::from_millis(80));
    }
}
