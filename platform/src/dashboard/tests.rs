use chrono::NaiveDate;
use hall_domain::api::{DeviceHealth, DeviceState};

use super::*;

fn day(d: u32) -> NaiveDate {
    // Monday 23 November 2026 and the days around it.
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn t(d: u32, h: u32, m: u32) -> NaiveDateTime {
    day(d).and_hms_opt(h, m, 0).unwrap()
}

fn ms(d: u32, h: u32, m: u32) -> i64 {
    local_ms(t(d, h, m))
}

fn devices(printer: DeviceState, reader: DeviceState) -> String {
    serde_json::to_string(&DeviceHealth {
        printer,
        reader,
        camera: DeviceState::Ok,
        scanner: DeviceState::Ok,
    })
    .unwrap()
}

fn h(kiosk: &str, at_ms: i64, kind: &str, detail: Option<String>) -> HistoryRow {
    (kiosk.to_string(), at_ms, kind.to_string(), detail)
}

#[test]
fn availability_help_calls_and_faults_come_from_the_history() {
    let calendar = Calendar::built_in();
    let kiosks = vec![("K1".to_string(), "A".to_string())];
    let ok = DeviceState::Ok;
    let history = vec![
        // Before the day: all well.
        h("K1", ms(22, 20, 0), "devices", Some(devices(ok, ok))),
        // 10:00-11:00 the printer is out of paper.
        h(
            "K1",
            ms(23, 10, 0),
            "devices",
            Some(devices(DeviceState::PaperOut, ok)),
        ),
        h("K1", ms(23, 11, 0), "devices", Some(devices(ok, ok))),
        // Offline 13:00-13:30 (recorded when it came back).
        h(
            "K1",
            ms(23, 13, 30),
            "offline",
            Some(t(23, 13, 0).to_string()),
        ),
        h("K1", ms(23, 13, 30), "online", None),
        // The camera fails (no effect on availability), and two help calls.
        h("K1", ms(23, 14, 0), "help", None),
        h("K1", ms(23, 15, 0), "help", Some("paper".into())),
        // The reader is unplugged at 16:30 and still is.
        h(
            "K1",
            ms(23, 16, 30),
            "devices",
            Some(devices(ok, DeviceState::Absent)),
        ),
    ];
    let seen = vec![("K1".to_string(), ms(23, 17, 30))];
    let inp = Inputs {
        period: Period::Today,
        today: day(23),
        now: t(23, 18, 0),
        now_ms: ms(23, 18, 0),
        offline_after_ms: 90_000,
        hours: OpeningHours::default(),
        calendar: &calendar,
        kiosks: &kiosks,
        events: &[],
        payments: &[("K1".to_string(), 2, 1_500)],
        history: &history,
        last_seen: &seen,
    };
    let d = figures(&inp);
    let f = &d.kiosks[0].2;
    assert_eq!(f.help_calls, 2);
    // Paper out, then the reader: two faults (coming back is none).
    assert_eq!(f.device_faults, 2);
    // Open 09:00-17:00 = 8 h; lost: 1 h paper, 30 min offline, 30 min reader (to 17:00).
    assert_eq!(f.opening_secs, 8 * 3600);
    assert_eq!(f.usable_secs, 6 * 3600);
    assert_eq!(f.availability_pct(), Some(75.0));
    assert_eq!((f.payments, f.payments_fen), (2, 1_500));
    assert_eq!(d.total.usable_secs, f.usable_secs);
}

#[test]
fn a_kiosk_offline_now_is_unavailable_since_it_was_last_seen_and_weekends_are_closed() {
    let calendar = Calendar::built_in();
    let kiosks = vec![("K1".to_string(), "A".to_string())];
    let history = vec![h("K1", ms(16, 9, 0), "boot", Some("1.0".into()))];
    // Last heard of on Friday 20 November at 12:00; now Monday 23 at 10:00.
    let seen = vec![("K1".to_string(), ms(20, 12, 0))];
    let inp = Inputs {
        period: Period::Days7,
        today: day(23),
        now: t(23, 10, 0),
        now_ms: ms(23, 10, 0),
        offline_after_ms: 90_000,
        hours: OpeningHours::default(),
        calendar: &calendar,
        kiosks: &kiosks,
        events: &[],
        payments: &[],
        history: &history,
        last_seen: &seen,
    };
    let f = &figures(&inp).kiosks[0].2;
    // 17-20 Nov (Tue-Fri) full days, 21-22 a weekend, 23 until 10:00: 4 * 8 h + 1 h.
    assert_eq!(f.opening_secs, (4 * 8 + 1) * 3600);
    // Usable: 17, 18, 19 and Friday until 12:00.
    assert_eq!(f.usable_secs, (3 * 8 + 3) * 3600);
}

#[test]
fn medians_round_half_up_and_journeys_belong_to_the_day_they_started() {
    assert_eq!(median(vec![]), None);
    assert_eq!(median(vec![7]), Some(7));
    assert_eq!(median(vec![10, 1, 4]), Some(4));
    assert_eq!(median(vec![1, 2]), Some(2));
    assert_eq!(median(vec![120, 210, 35, 600]), Some(165));
}

#[test]
fn periods_and_opening_hours() {
    assert_eq!(Period::Days7.range(day(23)), (t(17, 0, 0), t(24, 0, 0)));
    assert_eq!(Period::Today.range(day(23)), (t(23, 0, 0), t(24, 0, 0)));
    for p in Period::ALL {
        assert_eq!(Period::parse(p.as_str()), Some(p));
    }
    assert_eq!(Period::parse("1y"), None);
    let h: OpeningHours = "08:30-18:00".parse().unwrap();
    assert_eq!(h.open, NaiveTime::from_hms_opt(8, 30, 0).unwrap());
    assert!("18:00-08:30".parse::<OpeningHours>().is_err());
    assert!("9-5".parse::<OpeningHours>().is_err());
}
