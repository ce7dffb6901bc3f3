//! Working days: weekends and official holidays are skipped, swapped weekends are worked.
//! Each year's arrangement is a data file in `domain/data/`.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("holiday file has a bad date {0:?}")]
    Date(String),
}

#[derive(Deserialize)]
struct YearFile {
    #[allow(dead_code)]
    year: i32,
    holidays: Vec<[String; 2]>,
    workdays: Vec<String>,
}

/// A holiday calendar.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

const BUILT_IN: &[&str] = &[include_str!("../data/holidays-2026.toml")];

fn date(s: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| CalendarError::Date(s.to_string()))
}

impl Calendar {
    /// The calendar with every year that ships with the product.
    pub fn built_in() -> Self {
        let mut cal = Calendar::default();
        for text in BUILT_IN {
            // The shipped files are checked by a unit test; a broken one would be a build defect.
            if let Err(e) = cal.add_year(text) {
                tracing_free_warn(&e);
            }
        }
        cal
    }

    /// Adds one year's arrangement from its TOML text.
    pub fn add_year(&mut self, text: &str) -> Result<(), CalendarError> {
        let y: YearFile = toml::from_str(text)?;
        for [from, to] in &y.holidays {
            let (mut d, to) = (date(from)?, date(to)?);
            while d <= to {
                self.holidays.insert(d);
                d = d + Days::new(1);
            }
        }
        for w in &y.workdays {
            self.workdays.insert(date(w)?);
        }
        Ok(())
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The due date of a time limit of `n` working days that starts on `start`: the n-th working
    /// day after `start` (a limit of 0 means the same day).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days after `from` up to and including `to` (0 when `to` is not after `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

fn tracing_free_warn(e: &CalendarError) {
    eprintln!("built-in holiday calendar could not be read: {e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        date(s).unwrap()
    }

    #[test]
    fn shipped_files_parse() {
        for text in BUILT_IN {
            Calendar::default().add_year(text).unwrap();
        }
    }

    #[test]
    fn weekends_holidays_and_swaps() {
        let c = Calendar::built_in();
        assert!(c.is_working_day(d("2026-11-23"))); // Monday
        assert!(!c.is_working_day(d("2026-11-22"))); // Sunday
        assert!(!c.is_working_day(d("2026-10-05"))); // National Day
        assert!(c.is_working_day(d("2026-10-10"))); // swapped Saturday
        assert!(!c.is_working_day(d("2026-02-16"))); // Spring Festival
        assert!(c.is_working_day(d("2026-02-14")));
    }

    #[test]
    fn due_dates_skip_the_holiday_week() {
        let c = Calendar::built_in();
        // Tuesday 29 Sep + 3 working days: 30 Sep, then the holiday, then 8 and 9 Oct
        assert_eq!(c.add_working_days(d("2026-09-29"), 3), d("2026-10-09"));
        assert_eq!(c.add_working_days(d("2026-11-20"), 0), d("2026-11-20"));
        assert_eq!(c.working_days_between(d("2026-11-16"), d("2026-11-23")), 5);
        assert_eq!(c.working_days_between(d("2026-11-23"), d("2026-11-16")), 0);
    }
}
