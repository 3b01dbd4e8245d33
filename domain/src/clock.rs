use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use std::cell::Cell;

thread_local! {
    /// Set by [`as_of`] on this thread only.
    static AS_OF: Cell<Option<DateTime<Utc>>> = const { Cell::new(None) };
}

/// Now, at the microsecond precision both databases store, so an object returned at creation
/// equals the same object read back.
pub fn now() -> DateTime<Utc> {
    AS_OF
        .with(Cell::get)
        .unwrap_or_else(|| to_micros(Utc::now()))
}

/// Runs `f` with [`now`] answering `t` on this thread: history written through the services as
/// it would have been at `t` (the demo's past invoices and ledger, each at its own date).
/// Nothing else is affected; the time is restored however `f` ends.
pub fn as_of<T>(t: DateTime<Utc>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<DateTime<Utc>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            AS_OF.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(AS_OF.with(|a| a.replace(Some(to_micros(t)))));
    f()
}

/// `t` at the microsecond precision both databases store.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_of_sets_now_on_this_thread_and_restores_it() {
        let past = to_micros(Utc::now() - TimeDelta::days(40));
        let seen = as_of(past, || (now(), std::thread::spawn(now).join().unwrap()));
        assert_eq!(seen.0, past);
        assert!(seen.1 > past, "other threads keep the real time");
        assert!(now() > past, "restored after");
        let caught = std::panic::catch_unwind(|| as_of(past, || panic!("inside")));
        assert!(caught.is_err());
        assert!(now() > past, "restored after a panic too");
    }
}
