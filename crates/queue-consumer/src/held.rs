//! The entries this process holds: fetched and not yet done with (queued in the channel, running,
//! or finished and waiting for their acknowledgement). The fetcher keeps their idle time fresh on
//! the server ([`crate::broker::Broker::keep_alive`]): they are a live consumer's, and no consumer,
//! this one included, may claim them as a dead one's, however long they wait in the channel.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Entry ids this process holds, shared by the fetcher (takes), the workers (release a job that
/// stays pending: a failure, retried by a claim) and the acker (releases what it acknowledged).
#[derive(Debug, Default)]
pub struct Held(Mutex<BTreeSet<String>>);

impl Held {
    pub fn take(&self, entry_id: &str) {
        self.lock().insert(entry_id.to_owned());
    }

    pub fn release(&self, entry_id: &str) {
        self.lock().remove(entry_id);
    }

    pub fn contains(&self, entry_id: &str) -> bool {
        self.lock().contains(entry_id)
    }

    /// The ids held now.
    pub fn ids(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeSet<String>> {
        // A set of ids stays whole whatever panicked while it was locked.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn taken_until_released() {
        let held = Held::default();
        held.take("1-0");
        held.take("2-0");
        held.release("1-0");
        held.release("9-0"); // never taken (a dead letter found by a claim): nothing to do
        assert!(!held.contains("1-0") && held.contains("2-0"));
        assert_eq!(held.ids(), ["2-0"]);
    }
}
