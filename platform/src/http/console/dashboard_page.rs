//! The dashboard's page: the period's key figures, journeys over time, where people give up,
//! 好差评, and a table per kiosk. The wall-display mode drops the controls, enlarges everything
//! and reloads itself every minute.

use hall_domain::api::{JourneyKind, JourneyStep, Rating, RatingReason};
use maud::{DOCTYPE, Markup, html};

use super::charts::{self, Bar, Series};
use super::pages::{head, layout};
use super::session::Lang;
use crate::console_rules::User;
use crate::dashboard::{Dashboard, Figures, Period};

/// What the manager asked to see.
pub(super) struct Filter {
    pub period: Period,
    pub hall: Option<String>,
    pub kiosk: Option<String>,
    pub wall: bool,
}

impl Filter {
    /// The query string of this filter with another period / mode.
    fn query(&self, period: Period, wall: bool) -> String {
        let mut pairs = vec![("period", period.as_str())];
        if let Some(h) = &self.hall {
            pairs.push(("hall", h));
        }
        if let Some(k) = &self.kiosk {
            pairs.push(("kiosk", k));
        }
        if wall {
            pairs.push(("wall", "1"));
        }
        format!(
            "?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

pub(super) fn kind_name(lang: Lang, k: JourneyKind) -> &'static str {
    match k {
        JourneyKind::Submission => lang.t("办理申请", "Application"),
        JourneyKind::Lookup => lang.t("查询进度", "Progress lookup"),
        JourneyKind::Payment => lang.t("缴费", "Payment"),
    }
}

pub(super) fn step_name(lang: Lang, s: JourneyStep) -> &'static str {
    match s {
        JourneyStep::Identify => lang.t("读取身份证", "ID card"),
        JourneyStep::Items => lang.t("选择事项", "Choosing the item"),
        JourneyStep::Materials => lang.t("材料清单", "Materials list"),
        JourneyStep::Capture => lang.t("拍摄材料", "Photographing materials"),
        JourneyStep::Form => lang.t("填写表单", "Form"),
        JourneyStep::Review => lang.t("核对信息", "Review"),
        JourneyStep::Submitted => lang.t("受理回执", "Receipt"),
        JourneyStep::Lookup => lang.t("输入审批码", "Entering the approval code"),
        JourneyStep::Progress => lang.t("办理进度", "Progress"),
        JourneyStep::PayEntry => lang.t("输入缴款码", "Entering the payment code"),
        JourneyStep::Payment => lang.t("扫码支付", "Paying by QR"),
        JourneyStep::Paying => lang.t("等待支付结果", "Waiting for the payment"),
        JourneyStep::Paid => lang.t("缴费成功", "Paid"),
        JourneyStep::PayFailed => lang.t("缴费失败", "Payment failed"),
        JourneyStep::Offline => lang.t("网络中断", "Platform unreachable"),
        JourneyStep::PrinterError => lang.t("打印机故障", "Printer fault"),
        JourneyStep::CameraError => lang.t("摄像头故障", "Camera fault"),
        JourneyStep::Rating => lang.t("服务评价", "Rating"),
    }
}

pub(super) fn rating_name(lang: Lang, r: Rating) -> &'static str {
    match r {
        Rating::VerySatisfied => lang.t("非常满意", "Very satisfied"),
        Rating::Satisfied => lang.t("满意", "Satisfied"),
        Rating::BasicallySatisfied => lang.t("基本满意", "Basically satisfied"),
        Rating::Dissatisfied => lang.t("不满意", "Dissatisfied"),
        Rating::VeryDissatisfied => lang.t("非常不满意", "Very dissatisfied"),
    }
}

fn reason_name(lang: Lang, r: RatingReason) -> &'static str {
    match r {
        RatingReason::HardToUse => lang.t("操作太复杂", "Too hard to use"),
        RatingReason::TooSlow => lang.t("等待时间太长", "Too slow"),
        RatingReason::DeviceFault => lang.t("设备故障", "A device failed"),
        RatingReason::UnclearGuidance => lang.t("指引看不懂", "Unclear guidance"),
        RatingReason::NotDone => lang.t("没有办成", "Not done"),
    }
}

fn period_name(lang: Lang, p: Period) -> &'static str {
    match p {
        Period::Today => lang.t("今日", "Today"),
        Period::Days7 => lang.t("近7天", "Last 7 days"),
        Period::Days30 => lang.t("近30天", "Last 30 days"),
    }
}

fn duration(lang: Lang, secs: Option<i64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) => match lang {
            Lang::Zh if s >= 60 => format!("{}分{}秒", s / 60, s % 60),
            Lang::Zh => format!("{s}秒"),
            Lang::En if s >= 60 => format!("{} min {} s", s / 60, s % 60),
            Lang::En => format!("{s} s"),
        },
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1}%")).unwrap_or_else(|| "—".into())
}

fn yuan(fen: i64) -> String {
    format!("¥{}", hall_domain::money::yuan(fen))
}

fn tile(label: &str, value: &str, note: Option<String>, id: &str) -> Markup {
    html! {
        div.tile data-figure=(id) {
            span.tlabel { (label) }
            span.tvalue { (value) }
            @if let Some(n) = note { span.tnote { (n) } }
        }
    }
}

fn tiles(lang: Lang, f: &Figures) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    let abandon_rate = (f.sessions > 0).then(|| {
        format!(
            "{:.1}%",
            f64::from(f.abandoned) * 100.0 / f64::from(f.sessions)
        )
    });
    html! {
        div.tiles {
            (tile(t("服务人次", "Sessions"), &f.sessions.to_string(), None, "sessions"))
            (tile(t("办件", "Applications"), &f.finished(JourneyKind::Submission).to_string(), None, "submissions"))
            (tile(t("查询", "Lookups"), &f.finished(JourneyKind::Lookup).to_string(), None, "lookups"))
            (tile(t("缴费", "Payments"), &f.payments.to_string(), Some(yuan(f.payments_fen)), "payments"))
            (tile(t("办理时长中位数", "Median session time"), &duration(lang, f.median_session_secs), None, "median"))
            (tile(t("中途放弃", "Given up"), &f.abandoned.to_string(),
                abandon_rate.map(|r| format!("{} {r}", t("占", "of all:"))), "abandoned"))
            (tile(t("求助", "Help calls"), &f.help_calls.to_string(), None, "help"))
            (tile(t("设备故障", "Device faults"), &f.device_faults.to_string(), None, "faults"))
            (tile(t("可用率", "Availability"), &pct(f.availability_pct()), Some(t("开放时间内", "of opening hours").to_string()), "availability"))
            (tile(t("好评率", "Satisfaction"), &pct(f.satisfaction_pct()),
                Some(format!("{} {}", f.rated(), t("条评价", "ratings"))), "satisfaction"))
        }
    }
}

fn charts(lang: Lang, d: &Dashboard) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    let series = [
        Series {
            name: kind_name(lang, JourneyKind::Submission),
            class: "s-sub",
        },
        Series {
            name: kind_name(lang, JourneyKind::Lookup),
            class: "s-look",
        },
        Series {
            name: kind_name(lang, JourneyKind::Payment),
            class: "s-pay",
        },
        Series {
            name: t("放弃", "Given up"),
            class: "s-gone",
        },
    ];
    let bars: Vec<Bar> = d
        .slots
        .iter()
        .map(|s| Bar {
            label: s.label.clone(),
            values: vec![s.finished[0], s.finished[1], s.finished[2], s.abandoned],
        })
        .collect();
    let over_time = match d.period {
        Period::Today => t(
            "今日各时段的服务（按开始时间）",
            "Journeys by hour today (by start)",
        ),
        _ => t("每日的服务（按开始时间）", "Journeys per day (by start)"),
    };
    let mut gone: Vec<(String, u32)> = d
        .total
        .abandoned_at
        .iter()
        .map(|((k, s), n)| {
            (
                format!("{} · {}", kind_name(lang, *k), step_name(lang, *s)),
                *n,
            )
        })
        .collect();
    gone.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let ratings: Vec<(String, u32)> = Rating::ALL
        .iter()
        .map(|r| {
            (
                rating_name(lang, *r).to_string(),
                d.total.ratings[usize::from(r.score() - 1)],
            )
        })
        .collect();
    let mut reasons: Vec<(String, u32)> = d
        .total
        .reasons
        .iter()
        .map(|(r, n)| (reason_name(lang, *r).to_string(), *n))
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    html! {
        section.card { (charts::stacked(over_time, &series, &bars)) }
        div.two {
            section.card {
                h2 { (t("在哪一步放弃", "Where people give up")) }
                (charts::horizontal(t("放弃的服务，按所在步骤", "Journeys given up, by step"), "s-gone", &gone))
            }
            section.card {
                h2 { (t("服务评价（好差评）", "Ratings (好差评)")) }
                (charts::horizontal(t("各评价等级的数量", "Ratings by level"), "s-rate", &ratings))
                @if !reasons.is_empty() {
                    (charts::horizontal(t("差评原因", "Reasons given for poor ratings"), "s-gone", &reasons))
                }
            }
        }
    }
}

fn kiosk_table(lang: Lang, f: &Filter, d: &Dashboard) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    html! {
        section.card {
            h2 { (t("各终端", "Per kiosk")) }
            div.scroll {
                table.figures {
                    thead { tr {
                        th scope="col" { (t("终端", "Kiosk")) }
                        th scope="col" { (t("大厅", "Hall")) }
                        th scope="col" { (t("服务人次", "Sessions")) }
                        th scope="col" { (t("办件", "Applications")) }
                        th scope="col" { (t("查询", "Lookups")) }
                        th scope="col" { (t("缴费", "Payments")) }
                        th scope="col" { (t("时长中位数", "Median time")) }
                        th scope="col" { (t("放弃", "Given up")) }
                        th scope="col" { (t("求助", "Help")) }
                        th scope="col" { (t("设备故障", "Faults")) }
                        th scope="col" { (t("可用率", "Availability")) }
                        th scope="col" { (t("好评率", "Satisfaction")) }
                    } }
                    tbody {
                        @for (hall, kiosk, k) in &d.kiosks {
                            tr data-kiosk=(kiosk) {
                                th scope="row" {
                                    @if f.wall { (kiosk) } @else {
                                        a href=(format!("/console/dashboard?period={}&kiosk={kiosk}", f.period.as_str())) { (kiosk) }
                                    }
                                }
                                td { (hall) }
                                td { (k.sessions) }
                                td { (k.finished(JourneyKind::Submission)) }
                                td { (k.finished(JourneyKind::Lookup)) }
                                td { (k.payments) " · " (yuan(k.payments_fen)) }
                                td { (duration(lang, k.median_session_secs)) }
                                td { (k.abandoned) }
                                td { (k.help_calls) }
                                td { (k.device_faults) }
                                td { (pct(k.availability_pct())) }
                                td { (pct(k.satisfaction_pct())) " (" (k.rated()) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn controls(lang: Lang, f: &Filter, halls: &[String]) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    html! {
        div.controls {
            nav.periods aria-label=(t("时间范围", "Period")) {
                @for p in Period::ALL {
                    @if p == f.period {
                        a.current aria-current="page" href=(f.query(p, false)) { (period_name(lang, p)) }
                    } @else {
                        a href=(f.query(p, false)) { (period_name(lang, p)) }
                    }
                }
            }
            form.hallpick method="get" action="/console/dashboard" {
                input type="hidden" name="period" value=(f.period.as_str());
                label for="hall" { (t("大厅", "Hall")) }
                select #hall name="hall" {
                    option value="" { (t("全部大厅", "All halls")) }
                    @for h in halls {
                        option value=(h) selected[f.hall.as_deref() == Some(h.as_str())] { (h) }
                    }
                }
                button type="submit" { (t("查看", "Show")) }
            }
            a.button href=(format!("/console/dashboard.csv{}", f.query(f.period, false))) download {
                (t("导出CSV", "Export CSV"))
            }
            a.button href=(f.query(f.period, true)) { (t("大屏模式", "Wall display")) }
        }
    }
}

fn scope_title(lang: Lang, f: &Filter) -> String {
    match (&f.kiosk, &f.hall) {
        (Some(k), _) => format!("{} {k}", lang.t("终端", "Kiosk")),
        (None, Some(h)) => h.clone(),
        (None, None) => lang.t("全部大厅", "All halls").to_string(),
    }
}

pub(super) fn page(
    lang: Lang,
    user: &User,
    csrf: &str,
    f: &Filter,
    d: &Dashboard,
    halls: &[String],
) -> Markup {
    let title = lang.t("运行监测", "How the hall is served");
    let range = format!(
        "{} – {}",
        d.from.format("%Y-%m-%d"),
        (d.to - chrono::Duration::days(1)).format("%Y-%m-%d")
    );
    let body = html! {
        h1 { (title) " " small { (scope_title(lang, f)) " · " (period_name(lang, f.period)) " · " (range) } }
        @if !f.wall { (controls(lang, f, halls)) }
        (tiles(lang, &d.total))
        (charts(lang, d))
        (kiosk_table(lang, f, d))
    };
    if f.wall {
        wall(lang, title, body)
    } else {
        layout(lang, title, Some((user, csrf)), body)
    }
}

/// The wall display: no controls, large type, dark, reloads itself every minute.
fn wall(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, lang.t("监测大屏", "Wall display"), true))
            body.wall { main { (body) } }
        }
    }
}
