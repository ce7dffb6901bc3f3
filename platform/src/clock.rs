//! The platform's idea of "now": the local clock, or a fixed day for tests and demos.

use chrono::{Local, NaiveDate, NaiveDateTime, Utc};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed_today: Option<NaiveDate>,
}

impl Clock {
    pub fn new(fixed_today: Option<NaiveDate>) -> Self {
        Self { fixed_today }
    }

    /// Today's date: the fixed day when one is set.
    pub fn today(&self) -> NaiveDate {
        self.fixed_today
            .unwrap_or_else(|| Local::now().date_naive())
    }

    /// The local date and time for records people read (on the fixed day when one is set).
    pub fn now(&self) -> NaiveDateTime {
        let now = Local::now().naive_local();
        match self.fixed_today {
            Some(d) => d.and_time(now.time()),
            None => now,
        }
    }

    /// Milliseconds since the epoch for timing orders (always the real clock).
    pub fn millis(&self) -> i64 {
        Utc::now().timestamp_millis()
    }
}
