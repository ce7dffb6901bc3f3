//! Due dates and lateness in working days, on top of [`hall_domain::Calendar`].

use chrono::{Days, NaiveDate};
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
