//! Where library code sends lines meant for a person while it works (the sign-in URL, a
//! warning that does not stop the work), instead of printing them.
//!
//! The front end decides where they go: the CLI writes them to stderr (stdout is the MCP
//! channel of `run` and `bridge`), the app logs them. A plain callback rather than a
//! logging framework, so the launcher stays small. Not for errors that end the work
//! (those are returned) and not the audit log.

use std::fmt;
use std::sync::Arc;

/// A cheap, cloneable handle to the front end's "tell the user" function.
#[derive(Clone)]
pub struct Reporter(Arc<dyn Fn(&str) + Send + Sync>);

impl Reporter {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Reporter {
        Reporter(Arc::new(f))
    }

    /// Drops every line: for work whose caller has nobody to tell (and tests).
    pub fn silent() -> Reporter {
        Reporter::new(|_| {})
    }

    /// Hand one message (possibly several lines) to the front end.
    pub fn line(&self, text: &str) {
        (self.0)(text)
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reporter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn lines_reach_the_callback_in_order_through_clones() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let r = Reporter::new(move |l| sink.lock().expect("lock").push(l.to_string()));
        r.line("one");
        r.clone().line("two\nlines");
        Reporter::silent().line("dropped");
        assert_eq!(*seen.lock().expect("lock"), ["one", "two\nlines"]);
    }
}
