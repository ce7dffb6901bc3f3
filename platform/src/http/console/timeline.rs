//! One kiosk's last seven days as a timeline: a row for the network and one per device, coloured
//! by state (ok, warning, fault, no record), day by day — when the printer ran out of paper and
//! when it came back, when the kiosk went offline. The list below it says the same in words.

use chrono::{Duration, NaiveDateTime, NaiveTime};
use hall_domain::api::{DeviceHealth, DeviceState};
use maud::{Markup, html};

use super::session::Lang;
use crate::db::parse_datetime as parse;
use crate::store::fleet_history::Happened;

const W: i64 = 960;
const LABEL_W: i64 = 120;
const ROW: i64 = 30;
const DAYS: i64 = 7;

/// A device's name and how to read its state.
type Device = (&'static str, fn(&DeviceHealth) -> DeviceState);

/// A stretch of one row: from, to, its class and what it says.
type Piece = (NaiveDateTime, NaiveDateTime, &'static str, String);

fn state(lang: Lang, s: DeviceState) -> (&'static str, &'static str) {
    match s {
        DeviceState::Ok => ("t-ok", lang.t("正常", "OK")),
        DeviceState::PaperLow => ("t-warn", lang.t("纸将用完", "Paper low")),
        DeviceState::PaperOut => ("t-bad", lang.t("缺纸", "Out of paper")),
        DeviceState::Absent => ("t-bad", lang.t("未连接", "Not connected")),
        DeviceState::Error => ("t-bad", lang.t("故障", "Fault")),
        DeviceState::None => ("t-none", lang.t("未配备", "Not fitted")),
    }
}

/// The rows: the network's, then each device's, from `history` (newest first).
fn rows(
    lang: Lang,
    history: &[(String, Happened)],
    from: NaiveDateTime,
    now: NaiveDateTime,
    offline_since: Option<NaiveDateTime>,
) -> Vec<(&'static str, Vec<Piece>)> {
    let mut oldest_first: Vec<(NaiveDateTime, &Happened)> = history
        .iter()
        .filter_map(|(at, h)| parse(at).map(|t| (t, h)))
        .collect();
    oldest_first.sort_by_key(|(t, _)| *t);
    let online = lang.t("在线", "Online");
    // Before the first thing recorded (a new kiosk), nothing is known.
    let known = oldest_first.first().map_or(from, |(t, _)| (*t).max(from));
    let mut net: Vec<Piece> = Vec::new();
    if known > from {
        net.push((
            from,
            known,
            "t-unknown",
            lang.t("无记录", "No record").to_string(),
        ));
    }
    net.push((known, now, "t-ok", online.to_string()));
    let mut gaps: Vec<(NaiveDateTime, NaiveDateTime)> = oldest_first
        .iter()
        .filter_map(|(t, h)| match h {
            Happened::Offline { since } => parse(since).map(|s| (s.max(from), *t)),
            _ => None,
        })
        .collect();
    if let Some(since) = offline_since {
        gaps.push((since.max(from), now));
    }
    for (a, b) in gaps {
        net.push((a, b, "t-bad", lang.t("离线", "Offline").to_string()));
    }
    let devices: [Device; 4] = [
        (lang.t("打印机", "Printer"), |d| d.printer),
        (lang.t("读卡器", "Card reader"), |d| d.reader),
        (lang.t("摄像头", "Camera"), |d| d.camera),
        (lang.t("扫码器", "Scanner"), |d| d.scanner),
    ];
    let changes: Vec<(NaiveDateTime, &DeviceHealth)> = oldest_first
        .iter()
        .filter_map(|(t, h)| match h {
            Happened::Devices(d) => Some((*t, d)),
            _ => None,
        })
        .collect();
    let mut out = vec![(lang.t("网络", "Network"), net)];
    for (name, pick) in devices {
        let mut pieces: Vec<Piece> = Vec::new();
        let first = changes.first().map_or(now, |c| c.0);
        if first > from {
            pieces.push((
                from,
                first,
                "t-unknown",
                lang.t("无记录", "No record").to_string(),
            ));
        }
        for (i, (t, d)) in changes.iter().enumerate() {
            let end = changes.get(i + 1).map_or(now, |n| n.0);
            let (class, text) = state(lang, pick(d));
            pieces.push(((*t).max(from), end, class, text.to_string()));
        }
        out.push((name, pieces));
    }
    out
}

fn x(t: NaiveDateTime, from: NaiveDateTime, now: NaiveDateTime) -> i64 {
    let span = (now - from).num_seconds().max(1);
    LABEL_W + (t - from).num_seconds().clamp(0, span) * (W - LABEL_W - 8) / span
}

/// The timeline of the last seven days up to `now`.
pub(super) fn timeline(
    lang: Lang,
    history: &[(String, Happened)],
    now: NaiveDateTime,
    offline_since: Option<NaiveDateTime>,
) -> Markup {
    let from = now - Duration::days(DAYS);
    let rows = rows(lang, history, from, now, offline_since);
    let h = i64::try_from(rows.len()).unwrap_or(0) * ROW + 26;
    let days: Vec<NaiveDateTime> = (1..=DAYS)
        .map(|d| (from + Duration::days(d)).date().and_time(NaiveTime::MIN))
        .filter(|t| *t > from && *t < now)
        .collect();
    let fmt = |t: &NaiveDateTime| t.format("%m-%d %H:%M").to_string();
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {W} {h}")) role="img"
                aria-label=(lang.t("最近7天各设备的状态", "Each device's state over the last 7 days")) {
                @for (i, (name, pieces)) in rows.iter().enumerate() {
                    @let y = i64::try_from(i).unwrap_or(0) * ROW;
                    text.axis x=(LABEL_W - 8) y=(y + 19) text-anchor="end" { (name) }
                    @for (a, b, class, text) in pieces {
                        @let (xa, xb) = (x(*a, from, now), x(*b, from, now));
                        @if xb > xa || a == b {
                            rect class=(class) x=(xa) y=(y + 4) width=((xb - xa).max(2)) height=(ROW - 8) {
                                title { (name) " · " (text) " · " (fmt(a)) " – " (fmt(b)) }
                            }
                        }
                    }
                }
                @for d in &days {
                    line.grid x1=(x(*d, from, now)) x2=(x(*d, from, now)) y1="0" y2=(h - 20) {}
                    text.axis x=(x(*d, from, now)) y=(h - 4) text-anchor="middle" { (d.format("%m-%d")) }
                }
            }
            figcaption {
                ul.legend {
                    li { span.swatch.t-ok {} (lang.t("正常 / 在线", "OK / online")) }
                    li { span.swatch.t-warn {} (lang.t("纸将用完", "Paper low")) }
                    li { span.swatch.t-bad {} (lang.t("缺纸、故障、未连接或离线", "Out of paper, fault, not connected or offline")) }
                    li { span.swatch.t-none {} (lang.t("未配备", "Not fitted")) }
                    li { span.swatch.t-unknown {} (lang.t("无记录", "No record")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(d: u32, h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap()
    }

    #[test]
    fn the_printer_out_of_paper_and_back_and_time_offline_are_drawn_where_they_happened() {
        let health = |printer| DeviceHealth {
            printer,
            reader: DeviceState::Ok,
            camera: DeviceState::None,
            scanner: DeviceState::Ok,
        };
        // Newest first, as the history is read.
        let history = vec![
            (t(22, 12).to_string(), Happened::Online),
            (
                t(22, 12).to_string(),
                Happened::Offline {
                    since: t(22, 9).to_string(),
                },
            ),
            (
                t(21, 11).to_string(),
                Happened::Devices(health(DeviceState::Ok)),
            ),
            (
                t(21, 10).to_string(),
                Happened::Devices(health(DeviceState::PaperOut)),
            ),
            (
                t(20, 8).to_string(),
                Happened::Devices(health(DeviceState::Ok)),
            ),
        ];
        let now = t(23, 8);
        let rows = rows(Lang::En, &history, now - Duration::days(7), now, None);
        let (net, printer, camera) = (&rows[0].1, &rows[1].1, &rows[3].1);
        assert_eq!(net[0].2, "t-unknown");
        assert_eq!(net[0].1, t(20, 8));
        assert!(
            net.iter()
                .any(|p| p.2 == "t-bad" && (p.0, p.1) == (t(22, 9), t(22, 12)))
        );
        let kinds: Vec<_> = printer.iter().map(|p| (p.0, p.1, p.2)).collect();
        assert_eq!(
            kinds[1..],
            [
                (t(20, 8), t(21, 10), "t-ok"),
                (t(21, 10), t(21, 11), "t-bad"),
                (t(21, 11), now, "t-ok"),
            ]
        );
        assert!(camera[1..].iter().all(|p| p.2 == "t-none"));
        let svg = timeline(Lang::En, &history, now, Some(t(23, 7))).into_string();
        assert!(svg.contains("Printer · Out of paper · 11-21 10:00 – 11-21 11:00"));
        assert!(svg.contains("Network · Offline · 11-23 07:00 – 11-23 08:00"));
    }
}
