//! "A newer run supersedes an older one", for the dashboard's panels, the editor's preview and
//! the query bar's suggestions: answers arrive after the user has moved on, and only the
//! newest run may show its.

use leptos::prelude::*;

/// Counts runs; each [`Latest::start`] supersedes every run started before it.
#[derive(Clone, Copy)]
pub struct Latest(StoredValue<u64>);

/// One run's ticket: whether it is still the newest.
#[derive(Clone, Copy)]
pub struct Run {
    latest: StoredValue<u64>,
    number: u64,
}

impl Latest {
    pub fn new() -> Latest {
        Latest(StoredValue::new(0))
    }

    /// Starts a run, superseding the earlier ones.
    pub fn start(self) -> Run {
        let number = self.0.get_value() + 1;
        self.0.set_value(number);
        Run {
            latest: self.0,
            number,
        }
    }
}

impl Run {
    /// No run has started since this one, and what started it is still on the page: its
    /// answers are still wanted.
    pub fn is_current(self) -> bool {
        self.latest.try_get_value() == Some(self.number)
    }
}

impl Default for Latest {
    fn default() -> Latest {
        Latest::new()
    }
}
