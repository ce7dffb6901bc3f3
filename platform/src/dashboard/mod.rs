//! How the hall is served: the hall manager's figures for a period, made from the kiosks'
//! journey events, the payments completed, and each kiosk's history (help calls, devices, time
//! offline). Pure: rows in, figures out; the console reads the rows and shows the figures.
//!
//! - A **session** is a journey started (办理申请, 查询进度 or 缴费 chosen on the home screen); a
//!   journey belongs to the day it started.
//! - **Finished** journeys did what the person came for; **abandoned** ones were given up at a step
//!   (by the person, or by the inactivity timeout).
//! - The **session time** is from the start to the journey's last event (its end or its rating);
//!   the median is over finished and abandoned journeys (the mean of the two middle ones).
//! - **Availability**: the share of the opening hours (working days of the holiday calendar) that
//!   a kiosk was usable, up to now: online, and its ID card reader and printer neither absent, in
//!   error nor out of paper.
//! - **Satisfaction** (好评率): 非常满意, 满意 and 基本满意 over all ratings.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use hall_domain::Calendar;
use hall_domain::api::{
    DeviceHealth, DeviceState, JourneyEventKind, JourneyKind, JourneyStep, RatingReason,
};

use crate::db::parse_datetime;
use crate::store::journeys::{EventRow, HistoryRow, local_ms};

/// The periods a manager looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Days7,
    Days30,
}

impl Period {
    pub const ALL: [Period; 3] = [Self::Today, Self::Days7, Self::Days30];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "today" => Self::Today,
            "7d" => Self::Days7,
            "30d" => Self::Days30,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Today => "today",
            Self::Days7 => "7d",
            Self::Days30 => "30d",
        }
    }

    pub fn days(self) -> i64 {
        match self {
            Self::Today => 1,
            Self::Days7 => 7,
            Self::Days30 => 30,
        }
    }

    /// `[first day 00:00, the day after today 00:00)`.
    pub fn range(self, today: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let first = today - Duration::days(self.days() - 1);
        (
            first.and_time(NaiveTime::MIN),
            (today + Duration::days(1)).and_time(NaiveTime::MIN),
        )
    }
}

/// The hours the hall is open on its working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningHours {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl Default for OpeningHours {
    fn default() -> Self {
        Self {
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl std::str::FromStr for OpeningHours {
    type Err = String;

    /// `09:00-17:00`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("opening hours are HH:MM-HH:MM, not {s:?}");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let (open, close) = (t(a)?, t(b)?);
        if close <= open {
            return Err(bad());
        }
        Ok(Self { open, close })
    }
}

/// One kiosk's (or the whole scope's) figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub sessions: u32,
    pub finished: BTreeMap<JourneyKind, u32>,
    pub abandoned: u32,
    pub timed_out: u32,
    /// Abandoned journeys by journey and the step where they were given up.
    pub abandoned_at: BTreeMap<(JourneyKind, JourneyStep), u32>,
    /// Payments completed at the kiosk (the platform's orders): count and fen.
    pub payments: u32,
    pub payments_fen: i64,
    pub median_session_secs: Option<i64>,
    pub help_calls: u32,
    pub device_faults: u32,
    /// Usable opening time and all opening time so far, in seconds.
    pub usable_secs: i64,
    pub opening_secs: i64,
    /// Ratings by score, 1 (非常不满意) to 5 (非常满意): `ratings[score - 1]`.
    pub ratings: [u32; 5],
    pub reasons: BTreeMap<RatingReason, u32>,
}

impl Figures {
    pub fn finished(&self, kind: JourneyKind) -> u32 {
        self.finished.get(&kind).copied().unwrap_or(0)
    }

    pub fn rated(&self) -> u32 {
        self.ratings.iter().sum()
    }

    /// 好评率 in per cent, when anyone rated.
    pub fn satisfaction_pct(&self) -> Option<f64> {
        let rated = self.rated();
        (rated > 0).then(|| {
            f64::from(self.ratings[2] + self.ratings[3] + self.ratings[4]) * 100.0
                / f64::from(rated)
        })
    }

    /// The mean score (1 to 5), when anyone rated.
    pub fn mean_score(&self) -> Option<f64> {
        let rated = self.rated();
        (rated > 0).then(|| {
            let sum: u32 = (1..=5u32).zip(self.ratings).map(|(s, n)| s * n).sum();
            f64::from(sum) / f64::from(rated)
        })
    }

    /// Availability in per cent, when the hall was open in the period.
    pub fn availability_pct(&self) -> Option<f64> {
        (self.opening_secs > 0).then(|| self.usable_secs as f64 * 100.0 / self.opening_secs as f64)
    }
}

/// Journeys per slot of the period (hours of today, or days).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slot {
    pub label: String,
    pub sessions: u32,
    pub finished: [u32; 3],
    pub abandoned: u32,
}

/// A period's figures: the whole scope, each kiosk, and the journeys over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub period: Period,
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub total: Figures,
    /// `(hall, kiosk, figures)`, by hall and kiosk.
    pub kiosks: Vec<(String, String, Figures)>,
    pub slots: Vec<Slot>,
}

/// What the figures are made of.
pub struct Inputs<'a> {
    pub period: Period,
    pub today: NaiveDate,
    pub now: NaiveDateTime,
    pub now_ms: i64,
    pub offline_after_ms: i64,
    pub hours: OpeningHours,
    pub calendar: &'a Calendar,
    /// `(kiosk, hall)` of every kiosk in scope.
    pub kiosks: &'a [(String, String)],
    pub events: &'a [EventRow],
    /// `(kiosk, count, fen)`.
    pub payments: &'a [(String, i64, i64)],
    /// `(kiosk, at_ms, kind, detail)`, oldest first.
    pub history: &'a [HistoryRow],
    /// `(kiosk, last_seen_ms)`.
    pub last_seen: &'a [(String, i64)],
}

fn kind_index(k: JourneyKind) -> usize {
    match k {
        JourneyKind::Submission => 0,
        JourneyKind::Lookup => 1,
        JourneyKind::Payment => 2,
    }
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2] + 1) / 2
    })
}

/// One journey's events, gathered.
struct Journey<'a> {
    kiosk: &'a str,
    kind: JourneyKind,
    started: Option<NaiveDateTime>,
    last: NaiveDateTime,
    finished: bool,
    abandoned: Option<(JourneyStep, bool)>,
    rating: Option<(u8, Option<RatingReason>)>,
}

fn journeys(events: &[EventRow]) -> Vec<Journey<'_>> {
    let mut by: HashMap<(&str, &str), Journey<'_>> = HashMap::new();
    for e in events {
        let j = by
            .entry((e.kiosk_id.as_str(), e.journey.as_str()))
            .or_insert(Journey {
                kiosk: &e.kiosk_id,
                kind: e.kind,
                started: None,
                last: e.at,
                finished: false,
                abandoned: None,
                rating: None,
            });
        j.last = j.last.max(e.at);
        match e.event {
            JourneyEventKind::Started => j.started = Some(e.at),
            JourneyEventKind::Finished => j.finished = true,
            JourneyEventKind::Abandoned => {
                if let Some(step) = e.step {
                    j.abandoned = Some((step, e.timed_out));
                }
            }
            JourneyEventKind::Rated => {
                if let Some(score) = e.rating.filter(|s| (1..=5).contains(s)) {
                    j.rating = Some((score, e.reason));
                }
            }
            JourneyEventKind::Step => {}
        }
    }
    let mut out: Vec<Journey<'_>> = by.into_values().filter(|j| j.started.is_some()).collect();
    out.sort_by_key(|j| (j.kiosk, j.started));
    out
}

fn add_journey(f: &mut Figures, j: &Journey<'_>, durations: &mut Vec<i64>) {
    f.sessions += 1;
    if j.finished {
        *f.finished.entry(j.kind).or_default() += 1;
    } else if let Some((step, timed_out)) = j.abandoned {
        f.abandoned += 1;
        f.timed_out += u32::from(timed_out);
        *f.abandoned_at.entry((j.kind, step)).or_default() += 1;
    }
    if let Some((score, reason)) = j.rating {
        f.ratings[usize::from(score - 1)] += 1;
        if let Some(r) = reason {
            *f.reasons.entry(r).or_default() += 1;
        }
    }
    if (j.finished || j.abandoned.is_some())
        && let Some(start) = j.started
    {
        durations.push((j.last - start).num_seconds().max(0));
    }
}

/// A device state that stops the device from serving: absent, in error, out of paper.
fn faulty(s: DeviceState) -> bool {
    matches!(
        s,
        DeviceState::Absent | DeviceState::Error | DeviceState::PaperOut
    )
}

/// Whether a kiosk with these devices can serve: reader and printer not faulty.
fn usable(d: &DeviceHealth) -> bool {
    !faulty(d.reader) && !faulty(d.printer)
}

/// Devices that became faulty between two states.
fn faults(before: Option<&DeviceHealth>, now: &DeviceHealth) -> u32 {
    let pairs = [
        (before.map(|b| b.printer), now.printer),
        (before.map(|b| b.reader), now.reader),
        (before.map(|b| b.camera), now.camera),
        (before.map(|b| b.scanner), now.scanner),
    ];
    pairs
        .into_iter()
        .filter(|(b, n)| faulty(*n) && !b.is_some_and(faulty))
        .count() as u32
}

/// The opening hours of the period up to now, as `[from_ms, to_ms)` intervals.
fn opening_intervals(inp: &Inputs<'_>, from: NaiveDateTime, to: NaiveDateTime) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut day = from.date();
    while day < to.date() {
        if inp.calendar.is_working_day(day) {
            let a = local_ms(day.and_time(inp.hours.open));
            let b = local_ms(day.and_time(inp.hours.close)).min(inp.now_ms);
            if b > a {
                out.push((a, b));
            }
        }
        day += Duration::days(1);
    }
    out
}

fn overlap(iv: &[(i64, i64)], a: i64, b: i64) -> i64 {
    iv.iter().map(|&(x, y)| (y.min(b) - x.max(a)).max(0)).sum()
}

/// Help calls, device faults and usable time of one kiosk from its history.
fn from_history(
    f: &mut Figures,
    inp: &Inputs<'_>,
    kiosk: &str,
    opening: &[(i64, i64)],
    from_ms: i64,
) {
    let mut devices: Option<DeviceHealth> = None;
    // The times the kiosk was not usable: offline gaps, and its devices' bad spells.
    let mut down: Vec<(i64, i64)> = Vec::new();
    let mut bad_since: Option<i64> = None;
    let mut first_seen: Option<i64> = None;
    for (_, at_ms, kind, detail) in inp.history.iter().filter(|h| h.0 == kiosk) {
        let at_ms = *at_ms;
        first_seen = Some(first_seen.map_or(at_ms, |f| f.min(at_ms)));
        match kind.as_str() {
            "help" if at_ms >= from_ms => f.help_calls += 1,
            "offline" => {
                if let Some(since) = detail.as_deref().and_then(parse_datetime) {
                    down.push((local_ms(since), at_ms));
                }
            }
            "devices" => {
                let Some(d) = detail
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<DeviceHealth>(s).ok())
                else {
                    continue;
                };
                if at_ms >= from_ms {
                    f.device_faults += faults(devices.as_ref(), &d);
                }
                match (usable(&d), bad_since) {
                    (false, None) => bad_since = Some(at_ms),
                    (true, Some(since)) => {
                        down.push((since, at_ms));
                        bad_since = None;
                    }
                    _ => {}
                }
                devices = Some(d);
            }
            _ => {}
        }
    }
    if let Some(since) = bad_since {
        down.push((since, inp.now_ms));
    }
    match inp.last_seen.iter().find(|(k, _)| k == kiosk) {
        Some((_, seen)) if inp.now_ms - seen > inp.offline_after_ms => {
            down.push((*seen, inp.now_ms));
        }
        None => down.push((i64::MIN / 4, inp.now_ms)),
        _ => {}
    }
    // Before the kiosk was first heard of it was not installed: that time is not its opening
    // time.
    let start = first_seen.unwrap_or(inp.now_ms).min(
        inp.last_seen
            .iter()
            .find(|(k, _)| k == kiosk)
            .map_or(inp.now_ms, |s| s.1),
    );
    let open: Vec<(i64, i64)> = opening
        .iter()
        .map(|&(a, b)| (a.max(start), b))
        .filter(|(a, b)| b > a)
        .collect();
    down.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in down {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let total: i64 = open.iter().map(|(a, b)| b - a).sum();
    let lost: i64 = merged.iter().map(|&(a, b)| overlap(&open, a, b)).sum();
    f.opening_secs += total / 1000;
    f.usable_secs += (total - lost).max(0) / 1000;
}

/// The figures of a period.
pub fn figures(inp: &Inputs<'_>) -> Dashboard {
    let (from, to) = inp.period.range(inp.today);
    let from_ms = local_ms(from);
    let opening = opening_intervals(inp, from, to);
    let all = journeys(inp.events);
    let mut total = Figures::default();
    let mut all_durations = Vec::new();
    let mut kiosks = Vec::new();
    for (kiosk, hall) in inp.kiosks {
        let mut f = Figures::default();
        let mut durations = Vec::new();
        for j in all.iter().filter(|j| j.kiosk == kiosk) {
            add_journey(&mut f, j, &mut durations);
            add_journey(&mut total, j, &mut all_durations);
        }
        f.median_session_secs = median(durations);
        if let Some((_, n, fen)) = inp.payments.iter().find(|p| &p.0 == kiosk) {
            f.payments = u32::try_from(*n).unwrap_or(u32::MAX);
            f.payments_fen = *fen;
        }
        from_history(&mut f, inp, kiosk, &opening, from_ms);
        total.payments += f.payments;
        total.payments_fen += f.payments_fen;
        total.help_calls += f.help_calls;
        total.device_faults += f.device_faults;
        total.usable_secs += f.usable_secs;
        total.opening_secs += f.opening_secs;
        kiosks.push((hall.clone(), kiosk.clone(), f));
    }
    total.median_session_secs = median(all_durations);
    let slots = slots(inp.period, from, &all);
    Dashboard {
        period: inp.period,
        from,
        to,
        total,
        kiosks,
        slots,
    }
}

fn slots(period: Period, from: NaiveDateTime, all: &[Journey<'_>]) -> Vec<Slot> {
    let mut slots: Vec<Slot> = match period {
        Period::Today => (0..24)
            .map(|h| Slot {
                label: format!("{h:02}"),
                ..Slot::default()
            })
            .collect(),
        _ => (0..period.days())
            .map(|d| Slot {
                label: (from.date() + Duration::days(d))
                    .format("%m-%d")
                    .to_string(),
                ..Slot::default()
            })
            .collect(),
    };
    for j in all {
        let Some(start) = j.started else { continue };
        let i = match period {
            Period::Today => start.hour() as usize,
            _ => usize::try_from((start.date() - from.date()).num_days()).unwrap_or(usize::MAX),
        };
        if let Some(s) = slots.get_mut(i) {
            s.sessions += 1;
            if j.finished {
                s.finished[kind_index(j.kind)] += 1;
            } else if j.abandoned.is_some() {
                s.abandoned += 1;
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests;
