//! Due dates and lateness in working days, on top of [`hall_domain::Calendar`].

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use hall_domain::Calendar;

/// The due date of a time limit of `limit` working days that starts on `start`
/// (a limit of 0 is due the same day).
pub fn due_date(cal: &Calendar, start: NaiveDate, limit: u32) -> NaiveDate {
    cal.add_working_days(start, limit)
}

/// How many working days a node is past its due date on `today` (0 when not late).
pub fn overdue_days(cal: &Calendar, due: NaiveDate, today: NaiveDate) -> u32 {
    cal.working_days_between(due, today)
}

/// The date `n` working days before `day` (`day` itself when `n` is 0). The inverse of
/// [`Calendar::add_working_days`] when `day` is a working day.
pub fn working_days_before(cal: &Calendar, day: NaiveDate, n: u32) -> NaiveDate {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        match d.checked_sub_days(Days::new(1)) {
            Some(prev) => d = prev,
            None => break,
        }
        if cal.is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// The years a calendar holds the official holiday arrangement of. A year without one counts
/// weekends only, so a due date that reaches into it is provisional: it may move once the year's
/// arrangement is published and its file added (see the README's "Holiday calendar").
#[derive(Debug)]
pub struct Coverage {
    years: BTreeSet<i32>,
    warned: Mutex<BTreeSet<i32>>,
}

/// The years scanned for an arrangement.
const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 2100;

impl Coverage {
    /// Finds the years with an arrangement: those with at least one holiday on a weekday or a
    /// worked weekend day (every official arrangement has both kinds of day or at least the
    /// weekday holidays of the Spring Festival and National Day).
    pub fn of(cal: &Calendar) -> Self {
        let mut years = BTreeSet::new();
        for year in FIRST_YEAR..=LAST_YEAR {
            let Some(mut d) = NaiveDate::from_ymd_opt(year, 1, 1) else {
                continue;
            };
            while d.year() == year {
                let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
                if cal.is_working_day(d) == weekend {
                    years.insert(year);
                    break;
                }
                d = d + Days::new(1);
            }
        }
        Self {
            years,
            warned: Mutex::new(BTreeSet::new()),
        }
    }

    /// The years with an arrangement.
    pub fn years(&self) -> Vec<i32> {
        self.years.iter().copied().collect()
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The years from `from` to `to` (inclusive) without an arrangement.
    pub fn missing(&self, from: i32, to: i32) -> Vec<i32> {
        (from..=to).filter(|y| !self.covers(*y)).collect()
    }

    /// The years without an arrangement that a period from `start` to `end` reaches; a warning
    /// is logged the first time each such year is met.
    pub fn uncovered(&self, start: NaiveDate, end: NaiveDate) -> Vec<i32> {
        let (a, b) = if start <= end {
            (start, end)
        } else {
            (end, start)
        };
        let missing = self.missing(a.year(), b.year());
        if !missing.is_empty()
            && let Ok(mut warned) = self.warned.lock()
        {
            for y in &missing {
                if warned.insert(*y) {
                    tracing::warn!(
                        year = *y,
                        "no holiday calendar for this year: time limits reaching into it count \
                         weekends only and their due dates are marked provisional; add the \
                         year's file (see the platform README, Holiday calendar)"
                    );
                }
            }
        }
        missing
    }

    /// Whether a due date counted from `start` to `due` is provisional.
    pub fn provisional(&self, start: NaiveDate, due: NaiveDate) -> bool {
        !self.uncovered(start, due).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn due_dates_skip_weekends_and_the_national_day_week() {
        let cal = Calendar::built_in();
        // From Monday 28 Sep 2026: 29 and 30 Sep count, 1-7 Oct are the National Day holiday,
        // then 8, 9, Saturday 10 Oct (a swapped working day), 12 and 13 Oct.
        assert_eq!(due_date(&cal, d("2026-09-28"), 7), d("2026-10-13"));
        // Same-day items are due the day they are submitted.
        assert_eq!(due_date(&cal, d("2026-11-20"), 0), d("2026-11-20"));
        // Ten working days from Monday 16 Nov: two whole weeks.
        assert_eq!(due_date(&cal, d("2026-11-16"), 10), d("2026-11-30"));
        // Submitted on a Saturday: the first working day counted is Monday.
        assert_eq!(due_date(&cal, d("2026-11-21"), 1), d("2026-11-23"));
    }

    #[test]
    fn years_without_a_calendar_count_weekends_only_and_are_provisional() {
        let cal = Calendar::built_in();
        let cov = Coverage::of(&cal);
        assert!(cov.covers(2026));
        assert!(!cov.covers(2027));
        assert_eq!(cov.missing(2026, 2028), [2027, 2028]);
        // From Thursday 31 Dec 2026, five working days: 1 Jan 2027 counts (no calendar says
        // otherwise), then Monday 4 to Thursday 7 Jan.
        assert_eq!(due_date(&cal, d("2026-12-31"), 5), d("2027-01-07"));
        assert!(cov.provisional(d("2026-12-31"), d("2027-01-07")));
        assert!(!cov.provisional(d("2026-11-23"), d("2026-12-07")));
        assert_eq!(
            cov.uncovered(d("2026-12-01"), d("2028-01-03")),
            [2027, 2028]
        );
        // A year's file makes it a calendar year.
        let mut with = cal.clone();
        with.add_year(
            "year = 2027\nholidays = [[\"2027-01-01\", \"2027-01-01\"]]\nworkdays = []\n",
        )
        .unwrap();
        let cov = Coverage::of(&with);
        assert!(cov.covers(2027));
        assert!(!cov.provisional(d("2026-12-31"), d("2027-01-08")));
        assert_eq!(due_date(&with, d("2026-12-31"), 5), d("2027-01-08"));
    }

    #[test]
    fn lateness_counts_working_days_only() {
        let cal = Calendar::built_in();
        // Due Friday 20 Nov; on Monday 23 Nov one working day late, not three.
        assert_eq!(overdue_days(&cal, d("2026-11-20"), d("2026-11-23")), 1);
        assert_eq!(overdue_days(&cal, d("2026-11-20"), d("2026-11-22")), 0);
        assert_eq!(overdue_days(&cal, d("2026-11-20"), d("2026-11-20")), 0);
        assert_eq!(overdue_days(&cal, d("2026-11-23"), d("2026-11-20")), 0);
        // Due 30 Sep, asked on 9 Oct: the holiday week does not count (8 and 9 Oct do).
        assert_eq!(overdue_days(&cal, d("2026-09-30"), d("2026-10-09")), 2);
    }

    #[test]
    fn working_days_before_inverts_due_dates() {
        let cal = Calendar::built_in();
        let mut day = d("2026-01-05");
        while day < d("2026-12-31") {
            if cal.is_working_day(day) {
                for n in [0, 1, 5, 12, 25] {
                    let start = working_days_before(&cal, day, n);
                    assert!(start <= day);
                    assert_eq!(due_date(&cal, start, n), day, "{day} - {n}");
                }
            }
            day = day + Days::new(1);
        }
        // From a Sunday, three working days back: Wed, Thu, Fri of that week.
        assert_eq!(
            working_days_before(&cal, d("2026-11-22"), 3),
            d("2026-11-18")
        );
    }
}
