//! Every statement the server's database connections send in this test process, recorded by
//! diesel's connection instrumentation: the SQL with its bound values, `BEGIN` and `COMMIT`
//! included, for every connection opened after [`record`]. The log is the process's: a test
//! binary that reads it runs its servers one after the other.

use std::sync::{Mutex, MutexGuard, PoisonError};

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn log() -> MutexGuard<'static, Vec<String>> {
    LOG.lock().unwrap_or_else(PoisonError::into_inner)
}

fn recording() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            // One quoting for both backends: SQLite's backticks and the debug form's escaped
            // quotes read as plain double quotes.
            let sql = format!("{query:?}")
                .replace("\\\"", "\"")
                .replace('`', "\"");
            log().push(sql);
        }
    }))
}

/// Records the statements of every connection opened from now on.
pub fn record() {
    set_default_instrumentation(recording).expect("diesel instrumentation is set");
}

/// Forgets what was recorded so far.
pub fn clear() {
    log().clear();
}

/// What was recorded so far, and forgets it.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *log())
}

/// What was recorded so far.
pub fn snapshot() -> Vec<String> {
    log().clone()
}
