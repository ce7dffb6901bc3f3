//! The console's field-update pages: the releases with their rollouts, and one rollout with the
//! progress of each of its kiosks (updating by itself like the kiosk pages).

use hall_domain::api::{KioskStatus, Release, Rollout, RolloutProgress, UpdateState};
use maud::{Markup, html};

use super::pages::layout;
use super::session::Lang;
use crate::console_rules::{ConsoleRole, User};
use crate::store::updates::RolloutEvent;
use crate::updates::RolloutRefusal;

/// A rollout and its latest changes, as its page shows them.
pub(super) struct RolloutView {
    pub rollout: Rollout,
    pub events: Vec<RolloutEvent>,
}

pub(super) fn refusal(lang: Lang, r: &RolloutRefusal) -> &'static str {
    match r {
        RolloutRefusal::NoRelease => lang.t("没有这个版本", "There is no such release"),
        RolloutRefusal::NoKiosk => lang.t(
            "没有这台终端，或该大厅没有终端",
            "There is no such kiosk, or the hall has no kiosk",
        ),
        RolloutRefusal::NoRollout => lang.t("没有这次发布", "There is no such rollout"),
        RolloutRefusal::Target => lang.t(
            "须指定一台终端或一个大厅；比例只用于大厅",
            "Name one kiosk or one hall; a percentage goes with a hall only",
        ),
        RolloutRefusal::Percent => lang.t(
            "比例须为1至100，且不能比原来小",
            "The percentage must be 1 to 100, and never less than it was",
        ),
    }
}

/// A kiosk's update state in words, with the class that colours it.
pub(super) fn state_name(lang: Lang, state: &str) -> (&'static str, &'static str) {
    match state {
        "offered" => (lang.t("已推送", "Offered"), "warn"),
        "downloading" => (lang.t("下载中", "Downloading"), "warn"),
        "installing" => (lang.t("安装中", "Installing"), "warn"),
        "installed" => (lang.t("已安装，待重启", "Installed, to restart"), "warn"),
        "trying" => (lang.t("试运行", "Trying"), "warn"),
        "booted" => (lang.t("已启用", "Booted"), "ok"),
        "rolled_back" => (lang.t("已回滚", "Rolled back"), "bad"),
        "refused" => (lang.t("已拒绝", "Refused"), "bad"),
        "failed" => (lang.t("失败", "Failed"), "bad"),
        _ => (lang.t("空闲", "Idle"), ""),
    }
}

/// A kiosk's reported update state, short (the kiosk list).
pub(super) fn update_state(lang: Lang, u: &UpdateState) -> Markup {
    let (name, class) = state_name(lang, u.name());
    html! {
        @if let Some(release) = u.release() {
            span class=(class) { (name) } " " (release)
            @match u {
                UpdateState::Downloading { percent, .. } | UpdateState::Installing { percent, .. } => { " " (percent) "%" }
                UpdateState::RolledBack { reason, .. } | UpdateState::Refused { reason, .. } | UpdateState::Failed { reason, .. } => {
                    br; small { (reason) }
                }
                _ => {}
            }
        }
    }
}

fn progress_name(lang: Lang, p: RolloutProgress) -> (&'static str, &'static str) {
    match p {
        RolloutProgress::Done => (lang.t("已完成", "Done"), "ok"),
        RolloutProgress::InProgress => (lang.t("进行中", "In progress"), "warn"),
        RolloutProgress::Failed => (lang.t("失败", "Failed"), "bad"),
        RolloutProgress::Waiting => (lang.t("等待", "Waiting"), ""),
        RolloutProgress::NotCompatible => (lang.t("不兼容", "Not compatible"), "none"),
    }
}

fn target(lang: Lang, r: &Rollout) -> String {
    match (&r.kiosk_id, &r.hall) {
        (Some(k), _) => format!("{}{k}", lang.t("终端 ", "kiosk ")),
        (None, Some(h)) if r.percent == 100 => h.clone(),
        (None, Some(h)) => format!("{h} · {}%", r.percent),
        (None, None) => "—".into(),
    }
}

fn rollout_state(lang: Lang, r: &Rollout) -> Markup {
    html! {
        @if r.state == "running" {
            span.ok { (lang.t("进行中", "Running")) }
        } @else {
            span.bad { (lang.t("已停止", "Stopped")) }
        }
    }
}

fn counts(lang: Lang, r: &Rollout) -> Markup {
    html! {
        span.ok { (lang.t("完成 ", "done ")) (r.done) } " · "
        span.warn { (lang.t("进行中 ", "in progress ")) (r.in_progress) } " · "
        span.bad { (lang.t("失败 ", "failed ")) (r.failed) } " · "
        span { (lang.t("等待 ", "waiting ")) (r.waiting) } " · "
        span { (lang.t("不兼容 ", "not compatible ")) (r.not_compatible) }
    }
}

pub(super) fn updates(
    lang: Lang,
    user: &User,
    csrf: &str,
    releases: &[Release],
    rollouts: &[Rollout],
    kiosks: &[KioskStatus],
) -> Markup {
    let admin = user.role == ConsoleRole::Admin;
    let mut halls: Vec<&str> = kiosks.iter().map(|k| k.hall.as_str()).collect();
    halls.dedup();
    let body = html! {
        h1 { (lang.t("版本更新", "Updates")) }
        p.hint { (lang.t("终端在心跳应答中得知发布给它的版本，空闲时在后台下载、安装，无人使用时重启进入新版本；健康检查不通过则自动回滚。",
            "Kiosks learn of a release rolled out to them in their heartbeat answer, download and install it in the background, and restart into it when nobody is using them; a failed health check rolls back by itself.")) }
        section.card {
            h2 { (lang.t("发布", "Rollouts")) }
            @if rollouts.is_empty() {
                p { (lang.t("尚无发布。", "No rollout yet.")) }
            } @else {
                table.rollouts {
                    thead { tr {
                        th scope="col" { (lang.t("发布", "Rollout")) }
                        th scope="col" { (lang.t("版本", "Release")) }
                        th scope="col" { (lang.t("范围", "To")) }
                        th scope="col" { (lang.t("状态", "State")) }
                        th scope="col" { (lang.t("进度", "Progress")) }
                        th scope="col" { (lang.t("开始", "Started")) }
                    } }
                    tbody {
                        @for r in rollouts {
                            tr {
                                td { a href=(format!("/console/rollouts/{}", r.id)) { (r.id) } }
                                td { (r.release) }
                                td { (target(lang, r)) }
                                td { (rollout_state(lang, r)) }
                                td { (counts(lang, r)) }
                                td { small { (r.started_at.get(..16).unwrap_or(&r.started_at)) br; (r.started_by) } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (lang.t("版本", "Releases")) }
            @if releases.is_empty() {
                p { (lang.t("尚无版本。", "No release yet.")) }
            } @else {
                table.releases {
                    thead { tr {
                        th scope="col" { (lang.t("版本", "Version")) }
                        th scope="col" { (lang.t("适用", "Compatible")) }
                        th scope="col" { (lang.t("大小", "Size")) }
                        th scope="col" { "SHA-256" }
                        th scope="col" { (lang.t("上传", "Added")) }
                    } }
                    tbody {
                        @for r in releases {
                            tr {
                                td { strong { (r.version) } }
                                td { (r.compatible) }
                                td { (format!("{:.1} MB", r.size as f64 / 1_000_000.0)) }
                                td { code { (r.sha256.get(..16).unwrap_or(&r.sha256)) "…" } }
                                td { small { (r.added_at.format("%Y-%m-%d %H:%M")) br; (r.added_by) } }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section.card {
                h2 { (lang.t("开始发布", "Start a rollout")) }
                form method="post" action="/console/updates/rollouts" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="release" { (lang.t("版本", "Release")) }
                    select #release name="release" required {
                        @for r in releases { option value=(r.version) { (r.version) " (" (r.compatible) ")" } }
                    }
                    fieldset {
                        legend { (lang.t("发布给", "Roll out to")) }
                        label { input type="radio" name="target" value="kiosk"; " " (lang.t("一台终端", "One kiosk")) }
                        select name="kiosk" aria-label=(lang.t("终端", "Kiosk")) {
                            @for k in kiosks.iter().filter(|k| !k.revoked) { option value=(k.kiosk_id) { (k.kiosk_id) " · " (k.hall) } }
                        }
                        label { input type="radio" name="target" value="hall" checked; " " (lang.t("一个大厅（可按比例）", "A hall (or a share of it)")) }
                        select name="hall" aria-label=(lang.t("大厅", "Hall")) {
                            @for h in &halls { option value=(h) { (h) } }
                        }
                        label for="percent" { (lang.t("比例（%，1–100）", "Percentage (1–100)")) }
                        input #percent name="percent" type="number" min="1" max="100" value="10";
                    }
                    label { input type="checkbox" name="stop_on_failure" value="1" checked; " "
                        (lang.t("任一终端回滚、拒绝或失败即停止发布", "Stop at the first kiosk that rolls back, refuses or fails")) }
                    button.primary type="submit" { (lang.t("开始发布", "Start the rollout")) }
                }
            }
            section.card {
                h2 { (lang.t("上传版本", "Upload a release")) }
                p.hint { (lang.t("选择发布脚本生成的版本说明（<版本>.json）和它旁边的安装包（.raucb）；安装包以原样上传，平台核对大小和SHA-256后才保存。",
                    "Choose the release's JSON (<version>.json) the release script wrote and the bundle (.raucb) beside it; the bundle is sent as it is and stored only once its size and SHA-256 match.")) }
                form method="post" action="/console/updates/upload" data-upload
                    data-sending=(lang.t("正在上传…", "Uploading…")) {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="sidecar" { (lang.t("版本说明（.json）", "Release JSON (.json)")) }
                    input #sidecar name="sidecar" type="file" accept=".json,application/json" required;
                    label for="bundle" { (lang.t("安装包（.raucb）", "Bundle (.raucb)")) }
                    input #bundle name="bundle" type="file" accept=".raucb" required;
                    button.primary type="submit" { (lang.t("上传", "Upload")) }
                    p data-status role="status" {}
                }
            }
        }
    };
    layout(
        lang,
        lang.t("版本更新", "Updates"),
        Some((user, csrf)),
        body,
    )
}

/// A rollout's part that updates by itself: its state, counts, kiosks and latest changes.
pub(super) fn rollout_live(lang: Lang, v: &RolloutView) -> Markup {
    let r = &v.rollout;
    html! {
        section.card {
            p { (lang.t("状态：", "State: ")) (rollout_state(lang, r)) }
            @if let Some(why) = &r.stop_reason {
                p.problem role="alert" {
                    (lang.t("停止原因：", "Stopped: ")) (why)
                }
            }
            p.counts { (counts(lang, r)) }
        }
        table.kiosks {
            thead { tr {
                th scope="col" { (lang.t("终端 / 大厅", "Kiosk / hall")) }
                th scope="col" { (lang.t("进度", "Progress")) }
                th scope="col" { (lang.t("更新状态", "Update state")) }
                th scope="col" { (lang.t("自何时", "Since")) }
                th scope="col" { (lang.t("运行版本", "Running")) }
                th scope="col" { (lang.t("原因", "Reason")) }
            } }
            tbody {
                @for k in &r.kiosks {
                    @let (p, class) = progress_name(lang, k.progress);
                    tr {
                        td { a href=(format!("/console/kiosks/{}", k.kiosk_id)) { (k.kiosk_id) } br; small { (k.hall) } }
                        td { span class=(class) { (p) } }
                        td {
                            @if let Some(s) = &k.state {
                                (state_name(lang, s).0)
                                @if let Some(pc) = k.percent { " " (pc) "%" }
                            } @else { "—" }
                        }
                        td { (k.since.as_deref().and_then(|s| s.get(5..19)).unwrap_or("—")) }
                        td { (k.os_version.as_deref().unwrap_or("—")) }
                        td.error { (k.reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        section.card {
            h2 { (lang.t("变化记录", "Changes")) }
            @if v.events.is_empty() {
                p { (lang.t("尚无变化。", "Nothing yet.")) }
            } @else {
                table.history {
                    thead { tr {
                        th scope="col" { (lang.t("时间", "When")) }
                        th scope="col" { (lang.t("终端", "Kiosk")) }
                        th scope="col" { (lang.t("状态", "State")) }
                    } }
                    tbody {
                        @for e in &v.events {
                            @let (name, class) = state_name(lang, &e.state);
                            tr {
                                td { (e.at.get(5..19).unwrap_or(&e.at)) }
                                td { (e.kiosk_id) }
                                td class=(class) { (name) @if let Some(why) = &e.reason { " — " (why) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn rollout(lang: Lang, user: &User, csrf: &str, v: &RolloutView) -> Markup {
    let r = &v.rollout;
    let action = format!("/console/rollouts/{}/change", r.id);
    let body = html! {
        p { a href="/console/updates" { "← " (lang.t("版本更新", "Updates")) } }
        h1 { (lang.t("发布 ", "Rollout ")) (r.release) " " small { (target(lang, r)) " · " (r.id) } }
        p.hint {
            (lang.t("开始于 ", "Started ")) (r.started_at.get(..16).unwrap_or(&r.started_at)) (lang.t("，由 ", " by ")) (r.started_by)
            " · " @if r.stop_on_failure { (lang.t("首次失败即停止", "stops at the first failure")) } @else { (lang.t("失败不停止", "goes on after failures")) }
        }
        @if user.role == ConsoleRole::Admin {
            section.card {
                h2 { (lang.t("操作", "Actions")) }
                div.actions {
                    @if r.hall.is_some() && r.percent < 100 {
                        form method="post" action=(action) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="action" value="widen";
                            label for="widen" { (lang.t("扩大到（%）", "Widen to (%)")) }
                            input #widen name="percent" type="number" min=(r.percent) max="100" value=((u16::from(r.percent) * 2).min(100));
                            button type="submit" { (lang.t("扩大范围", "Widen")) }
                        }
                    }
                    @if r.state == "running" {
                        form method="post" action=(action) data-confirm=(lang.t("停止这次发布？", "Stop this rollout?")) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="action" value="stop";
                            button.danger type="submit" { (lang.t("停止发布", "Stop")) }
                        }
                    } @else {
                        form method="post" action=(action) {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="action" value="resume";
                            button.primary type="submit" { (lang.t("继续发布", "Resume")) }
                        }
                    }
                }
            }
        }
        div #live data-live=(format!("/console/rollouts/{}/live", r.id)) { (rollout_live(lang, v)) }
    };
    layout(
        lang,
        &format!("{} {}", lang.t("发布", "Rollout"), r.release),
        Some((user, csrf)),
        body,
    )
}
