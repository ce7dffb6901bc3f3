//! The console's pages, server-rendered (maud: checked when the platform is compiled), Chinese
//! first, English when asked for.

use chrono::NaiveDateTime;
use hall_domain::api::{CommandKind, CommandStatus, DeviceHealth, DeviceState, KioskStatus};
use maud::{DOCTYPE, Markup, html};

use super::session::Lang;
use crate::console_rules::{ConsoleRole, User};
use crate::store::fleet_history::Happened;

fn role_name(lang: Lang, role: ConsoleRole) -> &'static str {
    match role {
        ConsoleRole::Helpdesk => lang.t("运维值守", "Help desk"),
        ConsoleRole::Manager => lang.t("大厅管理", "Hall manager"),
        ConsoleRole::Admin => lang.t("管理员", "Admin"),
    }
}

/// A page's head: its title, the console's style sheet, and its script or (for the wall
/// display, which runs none) a reload every minute.
pub(super) fn head(title: &str, of: &str, wall: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if wall { meta http-equiv="refresh" content="60"; }
            title { (title) " · " (of) }
            link rel="stylesheet" href="/console/assets/console.css";
            @if !wall { script src="/console/assets/console.js" defer {} }
        }
    }
}

/// The frame of every page: title, the person signed in, the language switch, sign out.
pub(super) fn layout(lang: Lang, title: &str, who: Option<(&User, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, lang.t("自助终端运维", "Kiosk console"), false))
            body {
                header.top {
                    a.brand href="/console/" { (lang.t("自助终端运维台", "Kiosk console")) }
                    nav {
                        @if lang == Lang::Zh {
                            a href="?lang=en" lang="en" { "English" }
                        } @else {
                            a href="?lang=zh" lang="zh-CN" { "中文" }
                        }
                        @if let Some((user, csrf)) = who {
                            span.who { (user.name) " · " (role_name(lang, user.role)) }
                            a href="/console/" { (lang.t("终端", "Kiosks")) }
                            a href="/console/dashboard" { (lang.t("运行监测", "Dashboard")) }
                            a href="/console/updates" { (lang.t("版本更新", "Updates")) }
                            @if user.role == ConsoleRole::Admin {
                                a href="/console/admin" { (lang.t("管理", "Administration")) }
                            }
                            a href="/console/password" { (lang.t("修改密码", "Change password")) }
                            form.inline method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { (lang.t("退出", "Sign out")) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub(super) fn login(lang: Lang, form_token: &str, problem: Option<&str>) -> Markup {
    let body = html! {
        section.card.narrow {
            h1 { (lang.t("登录", "Sign in")) }
            @if let Some(p) = problem { p.problem role="alert" { (p) } }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(form_token);
                label for="name" { (lang.t("用户名", "User name")) }
                input #name name="name" autocomplete="username" required autofocus;
                label for="password" { (lang.t("密码", "Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { (lang.t("登录", "Sign in")) }
            }
        }
    };
    layout(lang, lang.t("登录", "Sign in"), None, body)
}

pub(super) fn password(lang: Lang, user: &User, csrf: &str, problem: Option<&str>) -> Markup {
    let body = html! {
        section.card.narrow {
            h1 { (lang.t("修改密码", "Change password")) }
            @if user.must_change {
                p { (lang.t("这是为您生成的初始密码，请先设置您自己的密码。",
                    "This password was made for you: choose your own before going on.")) }
            }
            @if let Some(p) = problem { p.problem role="alert" { (p) } }
            form method="post" action="/console/password" {
                input type="hidden" name="csrf" value=(csrf);
                label for="current" { (lang.t("当前密码", "Current password")) }
                input #current name="current" type="password" autocomplete="current-password" required;
                label for="new" { (lang.t("新密码（至少10个字符）", "New password (at least 10 characters)")) }
                input #new name="new" type="password" autocomplete="new-password" required minlength="10";
                label for="again" { (lang.t("再次输入新密码", "New password again")) }
                input #again name="again" type="password" autocomplete="new-password" required minlength="10";
                button.primary type="submit" { (lang.t("保存", "Save")) }
            }
        }
    };
    layout(
        lang,
        lang.t("修改密码", "Change password"),
        Some((user, csrf)),
        body,
    )
}

fn device(lang: Lang, state: DeviceState) -> (&'static str, &'static str) {
    match state {
        DeviceState::Ok => (lang.t("正常", "OK"), "ok"),
        DeviceState::PaperLow => (lang.t("纸将用完", "Paper low"), "warn"),
        DeviceState::PaperOut => (lang.t("缺纸", "Out of paper"), "bad"),
        DeviceState::Absent => (lang.t("未连接", "Not connected"), "bad"),
        DeviceState::Error => (lang.t("故障", "Fault"), "bad"),
        DeviceState::None => (lang.t("未配备", "Not fitted"), "none"),
    }
}

fn devices(lang: Lang, d: &DeviceHealth) -> Markup {
    let all = [
        (lang.t("打印机", "Printer"), d.printer),
        (lang.t("读卡器", "Reader"), d.reader),
        (lang.t("摄像头", "Camera"), d.camera),
        (lang.t("扫码器", "Scanner"), d.scanner),
    ];
    html! {
        ul.devices {
            @for (name, state) in all {
                @let (text, class) = device(lang, state);
                li class=(class) { (name) (lang.t("：", ": ")) (text) }
            }
        }
    }
}

fn minutes(lang: Lang, secs: i64) -> String {
    let m = secs.max(0) / 60;
    match (lang, m) {
        (Lang::Zh, 0) => "不到1分钟".into(),
        (Lang::Zh, m) if m < 120 => format!("{m}分钟"),
        (Lang::Zh, m) => format!("{}小时{}分钟", m / 60, m % 60),
        (Lang::En, 0) => "under a minute".into(),
        (Lang::En, m) if m < 120 => format!("{m} min"),
        (Lang::En, m) => format!("{} h {} min", m / 60, m % 60),
    }
}

/// A kiosk as the list shows it, with who took its help call (and, on its own page, what
/// happened to it over the last seven days, newest first).
pub(super) struct Row {
    pub(super) kiosk: KioskStatus,
    pub(super) taken_by: Option<String>,
    pub(super) history: Vec<(String, Happened)>,
}

/// One entry of a kiosk's history, in words; `None` for those said by another (back online).
fn happened(lang: Lang, at: &str, h: &Happened) -> Option<(Markup, &'static str)> {
    Some(match h {
        Happened::Offline { since } => (
            html! { (lang.t("离线：", "Offline: ")) (short_time(since)) " – " (short_time(at)) },
            "bad",
        ),
        Happened::Online => return None,
        Happened::Devices(d) => {
            let all = [
                (lang.t("打印机", "Printer"), d.printer),
                (lang.t("读卡器", "Reader"), d.reader),
                (lang.t("摄像头", "Camera"), d.camera),
                (lang.t("扫码器", "Scanner"), d.scanner),
            ];
            let faults: Vec<String> = all
                .iter()
                .filter(|(_, s)| !matches!(s, DeviceState::Ok | DeviceState::None))
                .map(|(n, s)| format!("{n}{}{}", lang.t("：", ": "), device(lang, *s).0))
                .collect();
            if faults.is_empty() {
                (html! { (lang.t("设备全部正常", "Every device OK")) }, "ok")
            } else {
                (html! { (faults.join(lang.t("；", "; "))) }, "warn")
            }
        }
        Happened::Error(e) => (html! { (lang.t("错误：", "Error: ")) (e) }, "bad"),
        Happened::Boot { version } => (
            html! { (lang.t("开机，版本 ", "Started, version ")) (version) },
            "none",
        ),
        Happened::Help(note) => (
            html! { (lang.t("求助", "Help call")) @if let Some(n) = note { "：" (n) } },
            "warn",
        ),
        Happened::HelpDone => (html! { (lang.t("求助已处理", "Help call answered")) }, "ok"),
    })
}

/// `2026-12-05 07:21:46.123` → `12-05 07:21`.
fn short_time(t: &str) -> &str {
    t.get(5..16).unwrap_or(t)
}

/// The rows of the kiosk list: help calls first (longest waiting first), then by hall and id.
pub(super) fn kiosk_rows(lang: Lang, rows: &[Row], now: NaiveDateTime) -> Markup {
    html! {
        tbody #kiosks data-help=(rows.iter().filter(|r| r.kiosk.needs_help).count()) {
            @for r in rows {
                @let k = &r.kiosk;
                tr class=(if k.needs_help { "help" } else if !k.online { "offline" } else { "" }) {
                    td { a href=(format!("/console/kiosks/{}", k.kiosk_id)) { (k.kiosk_id) } br; small { (k.hall) } }
                    td {
                        @if k.needs_help {
                            strong.callout { (lang.t("求助", "Help")) }
                            @if let Some(since) = k.help_since {
                                " " (lang.t("已等待", "waiting ")) (minutes(lang, (now - since).num_seconds()))
                            }
                            @if let Some(by) = &r.taken_by {
                                br; small { (lang.t("已由 ", "taken by ")) (by) (lang.t(" 接单", "")) }
                            }
                            @if let Some(note) = &k.help_note { br; small { (note) } }
                        }
                    }
                    td {
                        @if k.revoked { span.bad { (lang.t("已注销", "Revoked")) } }
                        @else if k.online { span.ok { (lang.t("在线", "Online")) } }
                        @else {
                            span.bad { (lang.t("离线", "Offline")) }
                            @if let Some(s) = k.last_seen_secs_ago {
                                br; small { (minutes(lang, i64::try_from(s).unwrap_or(i64::MAX))) (lang.t("前最后联系", " since last heard")) }
                            } @else { br; small { (lang.t("从未联系", "never heard from")) } }
                        }
                    }
                    td { @if k.in_use { (lang.t("使用中", "In use")) } @else { (lang.t("空闲", "Idle")) } }
                    td { (k.version.as_deref().unwrap_or("—")) }
                    td.system {
                        @if let Some(sys) = &k.system {
                            (sys.os_version)
                            @if let Some(slot) = &sys.slot { " · " (lang.t("分区 ", "slot ")) (slot) }
                            br; (super::updates_page::update_state(lang, &sys.update))
                        } @else { "—" }
                    }
                    td { @if let Some(d) = &k.devices { (devices(lang, d)) } @else { "—" } }
                    td.error { (k.last_error.as_deref().unwrap_or("")) }
                }
            }
        }
    }
}

/// The kiosk list's part that updates by itself.
pub(super) fn kiosks_live(lang: Lang, rows: &[Row], now: NaiveDateTime) -> Markup {
    html! {
        table.kiosks {
            thead { (header_row(lang)) }
            (kiosk_rows(lang, rows, now))
        }
    }
}

fn header_row(lang: Lang) -> Markup {
    html! {
        tr {
            th scope="col" { (lang.t("终端 / 大厅", "Kiosk / hall")) }
            th scope="col" { (lang.t("求助", "Help")) }
            th scope="col" { (lang.t("状态", "Status")) }
            th scope="col" { (lang.t("使用", "Use")) }
            th scope="col" { (lang.t("版本", "Version")) }
            th scope="col" { (lang.t("系统 / 更新", "System / update")) }
            th scope="col" { (lang.t("设备", "Devices")) }
            th scope="col" { (lang.t("最近错误", "Last error")) }
        }
    }
}

pub(super) fn kiosks(
    lang: Lang,
    user: &User,
    csrf: &str,
    rows: &[Row],
    now: NaiveDateTime,
) -> Markup {
    let body = html! {
        div #announce.announce role="alert" aria-live="assertive" hidden {
            (lang.t("新的求助！", "A new help call!"))
        }
        h1 { (lang.t("自助终端", "Kiosks")) }
        p.hint { (lang.t("求助的终端排在最前；页面随心跳和求助自动更新。",
            "Kiosks asking for help come first; the page updates by itself with every heartbeat and help call.")) }
        div #live data-live="/console/kiosks/live" { (kiosks_live(lang, rows, now)) }
    };
    layout(lang, lang.t("自助终端", "Kiosks"), Some((user, csrf)), body)
}

fn command_kind(lang: Lang, kind: CommandKind, force: bool) -> &'static str {
    match (kind, force) {
        (CommandKind::RestartApp, false) => {
            lang.t("重启程序（本次服务结束后）", "Restart (after the citizen)")
        }
        (CommandKind::RestartApp, true) => lang.t("立即重启程序", "Restart now"),
        (CommandKind::Reboot, false) => {
            lang.t("重启终端（本次服务结束后）", "Reboot (after the citizen)")
        }
        (CommandKind::Reboot, true) => lang.t("立即重启终端", "Reboot now"),
        (CommandKind::Identify, _) => lang.t("闪烁识别", "Identify"),
    }
}

fn command_status(lang: Lang, s: CommandStatus) -> (&'static str, &'static str) {
    match s {
        CommandStatus::Pending => (lang.t("等待终端领取", "Waiting for the kiosk"), "warn"),
        CommandStatus::Delivered => (lang.t("终端已领取", "Fetched by the kiosk"), "warn"),
        CommandStatus::Done => (lang.t("已完成", "Done"), "ok"),
        CommandStatus::Failed => (lang.t("失败", "Failed"), "bad"),
        CommandStatus::Expired => (lang.t("无人领取，已过期", "Expired, never fetched"), "bad"),
    }
}

/// The actions a help desk may take on one kiosk, each confirmed before it is sent.
fn actions(lang: Lang, k: &KioskStatus, csrf: &str, taken: bool) -> Markup {
    let commands = [
        ("restart_app", false),
        ("restart_app", true),
        ("reboot", false),
        ("reboot", true),
        ("identify", false),
    ];
    html! {
        section.card {
            h2 { (lang.t("操作", "Actions")) }
            div.actions {
                @for (kind, force) in commands {
                    @let label = CommandKind::parse(kind).map(|c| command_kind(lang, c, force)).unwrap_or(kind);
                    form method="post" action=(format!("/console/kiosks/{}/command", k.kiosk_id))
                        data-confirm=(format!("{}：{}？", k.kiosk_id, label)) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="kind" value=(kind);
                        input type="hidden" name="force" value=(if force { "1" } else { "0" });
                        button type="submit" class=(if force { "danger" } else { "" }) { (label) }
                    }
                }
                @if k.needs_help && !taken {
                    form method="post" action=(format!("/console/kiosks/{}/help/take", k.kiosk_id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.primary type="submit" { (lang.t("接单", "Take the call")) }
                    }
                }
                @if k.needs_help {
                    form method="post" action=(format!("/console/kiosks/{}/help/done", k.kiosk_id))
                        data-confirm=(lang.t("求助已处理完毕？", "Is the help call dealt with?")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.primary type="submit" { (lang.t("求助已处理", "Help done")) }
                    }
                }
            }
        }
    }
}

/// One kiosk's part that updates by itself: its state and its latest commands.
pub(super) fn kiosk_live(lang: Lang, row: &Row, now: NaiveDateTime) -> Markup {
    let k = &row.kiosk;
    html! {
        table.kiosks {
            thead { (header_row(lang)) }
            (kiosk_rows(lang, std::slice::from_ref(row), now))
        }
        section.card {
            h2 { (lang.t("最近7天", "The last 7 days")) }
            (super::timeline::timeline(lang, &row.history, now,
                if k.online { None } else { k.last_seen }))
            @if row.history.is_empty() {
                p { (lang.t("7天内没有变化。", "Nothing changed in 7 days.")) }
            } @else {
                table.history {
                    thead { tr {
                        th scope="col" { (lang.t("时间", "When")) }
                        th scope="col" { (lang.t("发生了什么", "What happened")) }
                    } }
                    tbody {
                        @for (at, h) in &row.history {
                            @if let Some((text, class)) = happened(lang, at, h) {
                                tr { td { (short_time(at)) } td class=(class) { (text) } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (lang.t("最近的指令", "Recent commands")) }
            @if k.commands.is_empty() {
                p { (lang.t("尚无指令。", "No command yet.")) }
            } @else {
                table.commands {
                    thead { tr {
                        th scope="col" { (lang.t("下达时间", "Issued")) }
                        th scope="col" { (lang.t("指令", "Command")) }
                        th scope="col" { (lang.t("下达人", "By")) }
                        th scope="col" { (lang.t("结果", "Outcome")) }
                    } }
                    tbody {
                        @for c in &k.commands {
                            @let (text, class) = command_status(lang, c.status);
                            tr {
                                td { (c.issued_at.format("%m-%d %H:%M:%S")) }
                                td { (command_kind(lang, c.kind, c.force)) }
                                td { (c.issued_by) }
                                td { span class=(class) { (text) } @if let Some(r) = &c.result { br; small { (r) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn kiosk(lang: Lang, user: &User, csrf: &str, row: &Row, now: NaiveDateTime) -> Markup {
    let k = &row.kiosk;
    let body = html! {
        p { a href="/console/" { "← " (lang.t("全部终端", "All kiosks")) } }
        h1 { (k.kiosk_id) " " small { (k.hall) } }
        @if user.role.acts_on_kiosks() && !k.revoked {
            (actions(lang, k, csrf, row.taken_by.is_some()))
        }
        @if user.role == ConsoleRole::Admin && !k.revoked {
            form method="post" action=(format!("/console/kiosks/{}/revoke", k.kiosk_id))
                data-confirm=(format!("{}{}", k.kiosk_id, lang.t("：注销后该终端的凭据立即失效，确定？",
                    ": its credential stops working at once. Revoke it?"))) {
                input type="hidden" name="csrf" value=(csrf);
                button.danger type="submit" { (lang.t("注销此终端", "Revoke this kiosk")) }
            }
        }
        div #live data-live=(format!("/console/kiosks/{}/live", k.kiosk_id)) { (kiosk_live(lang, row, now)) }
    };
    layout(lang, &k.kiosk_id, Some((user, csrf)), body)
}
