//! The hall manager's dashboard (`/console/dashboard`): how the hall is served today, over 7 or
//! 30 days, per hall and per kiosk; a big-screen mode for the hall's wall display (监测大屏); the
//! period's figures as CSV. Read-only, for every signed-in role.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hall_domain::api::{JourneyKind, Rating};
use serde::Deserialize;

use super::answers::{failure, kiosk_id};
use super::dashboard_page::{self as view, Filter, kind_name, step_name};
use super::session::{Lang, Signed};
use crate::dashboard::{self as dash, Dashboard, Figures, Inputs, Period};
use crate::state::AppState;
use crate::store::journeys::{self, Scope, local_ms};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/dashboard", get(page))
        .route("/console/dashboard.csv", get(csv))
}

#[derive(Deserialize, Default)]
pub(super) struct DashQuery {
    period: Option<String>,
    hall: Option<String>,
    kiosk: Option<String>,
    wall: Option<String>,
}

impl DashQuery {
    fn filter(&self) -> Filter {
        let period = self
            .period
            .as_deref()
            .and_then(Period::parse)
            .unwrap_or(Period::Today);
        let hall = self
            .hall
            .as_deref()
            .map(str::trim)
            .filter(|h| {
                !h.is_empty() && h.chars().count() <= 64 && !h.chars().any(char::is_control)
            })
            .map(str::to_string);
        let kiosk = self.kiosk.as_deref().and_then(kiosk_id);
        Filter {
            period,
            hall,
            kiosk,
            wall: self.wall.as_deref() == Some("1"),
        }
    }
}

fn scope(f: &Filter) -> Scope {
    match (&f.kiosk, &f.hall) {
        (Some(k), _) => Scope::Kiosk(k.clone()),
        (None, Some(h)) => Scope::Hall(h.clone()),
        (None, None) => Scope::All,
    }
}

/// The period's figures for the filter, and every hall (for the choice).
pub(super) async fn load(st: &AppState, f: &Filter) -> Result<(Dashboard, Vec<String>), String> {
    let today = st.clock().today();
    let (from, to) = f.period.range(today);
    let (from_ms, to_ms) = (local_ms(from), local_ms(to));
    let scope = scope(f);
    let rows = st
        .store()
        .read(move |_, c| {
            let kiosks = journeys::kiosks(c, &scope)?;
            let all = journeys::kiosks(c, &Scope::All)?;
            let events = journeys::events(c, &scope, from, to)?;
            let payments = journeys::payments(c, &scope, from, to)?;
            let history = journeys::history(c, &scope, from_ms, to_ms)?;
            let seen = journeys::last_seen(c, &scope)?;
            Ok((kiosks, all, events, payments, history, seen))
        })
        .await
        .map_err(|e| e.to_string())?;
    let (kiosks, all, events, payments, history, seen) = rows;
    let mut halls: Vec<String> = all.into_iter().map(|(_, h)| h).collect();
    halls.sort();
    halls.dedup();
    let d = dash::figures(&Inputs {
        period: f.period,
        today,
        now: st.clock().now(),
        now_ms: st.clock().millis(),
        offline_after_ms: st.offline_after_ms(),
        hours: st.opening_hours(),
        calendar: st.calendar(),
        kiosks: &kiosks,
        events: &events,
        payments: &payments,
        history: &history,
        last_seen: &seen,
    });
    Ok((d, halls))
}

async fn page(State(st): State<AppState>, s: Signed, Query(q): Query<DashQuery>) -> Response {
    let f = q.filter();
    match load(&st, &f).await {
        Ok((d, halls)) => {
            Html(view::page(s.lang, &s.user, &s.csrf, &f, &d, &halls).into_string()).into_response()
        }
        Err(e) => failure(e),
    }
}

/// Yuan as a spreadsheet reads a number: no thousands separators.
fn yuan(fen: i64) -> String {
    hall_domain::money::yuan(fen).replace(',', "")
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1}")).unwrap_or_default()
}

/// A CSV field: quoted when it must be, and never read as a formula by a spreadsheet.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The period's figures, one row per kiosk and one for all of them (UTF-8 with a byte-order
/// mark, so that spreadsheets read the Chinese right).
pub(crate) fn csv_text(lang: Lang, d: &Dashboard) -> String {
    let t = |zh, en| lang.t(zh, en);
    let mut steps: Vec<(JourneyKind, hall_domain::api::JourneyStep)> =
        d.total.abandoned_at.keys().copied().collect();
    steps.sort();
    let mut head: Vec<String> = [
        t("起始", "from"),
        t("截止", "to"),
        t("大厅", "hall"),
        t("终端", "kiosk"),
        t("服务人次", "sessions"),
        t("办件", "submissions"),
        t("查询", "lookups"),
        t("缴费笔数", "payments"),
        t("缴费金额(元)", "payment_amount_yuan"),
        t("放弃", "abandoned"),
        t("超时离开", "timed_out"),
        t("办理时长中位数(秒)", "median_session_s"),
        t("求助", "help_calls"),
        t("设备故障", "device_faults"),
        t("可用率(%)", "availability_pct"),
        t("评价数", "ratings"),
        t("好评率(%)", "satisfaction_pct"),
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    for r in Rating::ALL {
        head.push(view::rating_name(lang, r).to_string());
    }
    for (k, s) in &steps {
        head.push(format!(
            "{}: {} · {}",
            t("放弃于", "abandoned at"),
            kind_name(lang, *k),
            step_name(lang, *s)
        ));
    }
    let mut out = String::from("\u{feff}");
    out.push_str(&head.iter().map(|h| field(h)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    let from = d.from.format("%Y-%m-%d").to_string();
    let to = (d.to - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let row = |hall: &str, kiosk: &str, f: &Figures| {
        let mut cells = vec![
            from.clone(),
            to.clone(),
            hall.to_string(),
            kiosk.to_string(),
            f.sessions.to_string(),
            f.finished(JourneyKind::Submission).to_string(),
            f.finished(JourneyKind::Lookup).to_string(),
            f.payments.to_string(),
            yuan(f.payments_fen),
            f.abandoned.to_string(),
            f.timed_out.to_string(),
            f.median_session_secs
                .map(|s| s.to_string())
                .unwrap_or_default(),
            f.help_calls.to_string(),
            f.device_faults.to_string(),
            pct(f.availability_pct()),
            f.rated().to_string(),
            pct(f.satisfaction_pct()),
        ];
        for r in Rating::ALL {
            cells.push(f.ratings[usize::from(r.score() - 1)].to_string());
        }
        for key in &steps {
            cells.push(f.abandoned_at.get(key).copied().unwrap_or(0).to_string());
        }
        cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",") + "\r\n"
    };
    for (hall, kiosk, f) in &d.kiosks {
        out.push_str(&row(hall, kiosk, f));
    }
    out.push_str(&row(t("全部", "all"), "", &d.total));
    out
}

async fn csv(State(st): State<AppState>, s: Signed, Query(q): Query<DashQuery>) -> Response {
    let f = q.filter();
    match load(&st, &f).await {
        Ok((d, _)) => {
            let name = format!(
                "hall-figures-{}-{}.csv",
                f.period.as_str(),
                st.clock().today().format("%Y%m%d")
            );
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                csv_text(s.lang, &d),
            )
                .into_response()
        }
        Err(e) => failure(e),
    }
}
