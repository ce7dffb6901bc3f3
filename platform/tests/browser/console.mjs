// The console in a real browser (Debian's Chromium, driven by playwright-core): a help-desk
// person signs in, sees the kiosks, a help call appears highlighted without a reload, a restart is
// clicked and confirmed, and the kiosk's acknowledgement shows on the page by itself; a manager
// sees no action. Screenshots of each page, in Chinese and English, go to SHOTS.
//
// Run by platform/scripts/console-browser, which starts the platform and passes:
//   BASE (http://127.0.0.1:PORT), KIOSK (id), CREDENTIAL (the kiosk's), DESK and BOSS
//   (user names; password PASSWORD), SHOTS (directory), CHROMIUM (executable).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env("BASE"), KIOSK = env("KIOSK"), CREDENTIAL = env("CREDENTIAL");
const DESK = env("DESK"), BOSS = env("BOSS"), ADMIN = env("ADMIN"), PASSWORD = env("PASSWORD");
const SHOTS = env("SHOTS");

async function kioskApi(path, body) {
  const r = await fetch(BASE + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${CREDENTIAL}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return r;
}

async function heartbeat(printer) {
  const r = await kioskApi("/api/v1/fleet/heartbeat", {
    version: "0.1.0", uptime_secs: 120, boot_id: "browser-test", in_use: false,
    devices: { printer, reader: "ok", camera: "ok", scanner: "ok" },
  });
  assert.ok(r.ok, `heartbeat: ${r.status}`);
}

// A heartbeat from an A/B kiosk running 2026.11.1, with where its update stands; the answer.
async function systemBeat(update) {
  const r = await kioskApi("/api/v1/fleet/heartbeat", {
    version: "0.1.0", uptime_secs: 180, boot_id: "browser-test", in_use: false,
    devices: { printer: "ok", reader: "ok", camera: "ok", scanner: "ok" },
    system: { os_version: "2026.11.1", slot: "A", compatible: "hall-kiosk-x86",
      root_sha256: "ab".repeat(32), update },
  });
  assert.ok(r.ok, `heartbeat: ${r.status}`);
  return r.json();
}

// A release as the release script writes it: a bundle and its JSON beside it.
async function releaseFiles(version) {
  const { mkdtemp, writeFile } = await import("node:fs/promises");
  const { createHash, randomBytes } = await import("node:crypto");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(`${tmpdir()}/release-`);
  const bundle = randomBytes(256 * 1024);
  const sha = (b) => createHash("sha256").update(b).digest("hex");
  const name = `hall-kiosk-${version}.raucb`;
  await writeFile(`${dir}/${name}`, bundle);
  await writeFile(`${dir}/${version}.json`, JSON.stringify({
    version, compatible: "hall-kiosk-x86", root_sha256: sha(`root ${version}`), bundle: name,
    size: bundle.length, sha256: sha(bundle),
  }));
  return { json: `${dir}/${version}.json`, bundle: `${dir}/${name}` };
}

async function signIn(page, name, lang) {
  await page.goto(`${BASE}/console/login?lang=${lang}`);
  await page.getByLabel(lang === "en" ? "User name" : "用户名").fill(name);
  await page.getByLabel(lang === "en" ? "Password" : "密码", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: lang === "en" ? "Sign in" : "登录" }).click();
  await page.waitForURL(`${BASE}/console/`);
}

// A few journeys at the kiosk, reported as the kiosk reports them: the dashboard's figures.
async function journeys() {
  const now = Date.now();
  const midnight = new Date(); midnight.setHours(0, 0, 1, 0);
  const start = Math.max(now - 50_000, midnight.getTime());
  const at = (s) => new Date(Math.min(start + s * 1000, now)).toISOString();
  const events = [];
  const journey = (kind, steps, end, rating) => {
    const id = crypto.randomUUID();
    const ev = (event, extra, s) => events.push({ id: crypto.randomUUID(), journey: id, kind, event, at: at(s), ...extra });
    ev("started", {}, 0);
    steps.forEach((step, i) => ev("step", { step }, i + 1));
    if (end === "finished") ev("finished", {}, 20); else ev("abandoned", { step: end }, 20);
    if (rating) ev("rated", rating, 25);
  };
  journey("submission", ["identify", "items", "materials", "form", "review", "submitted"], "finished", { rating: "very_satisfied" });
  journey("lookup", ["lookup"], "lookup");
  journey("payment", ["pay_entry", "payment", "paid"], "finished", { rating: "dissatisfied", reason: "too_slow" });
  const r = await kioskApi("/api/v1/fleet/journeys", { events });
  assert.equal(r.status, 200, `journeys: ${r.status}`);
}

await journeys();
const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
try {
  for (const lang of ["zh", "en"]) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 },
      locale: lang === "en" ? "en-GB" : "zh-CN" });
    const page = await context.newPage();
    page.on("dialog", (d) => d.accept());

    // Signing in: a wrong password is refused with a message.
    await page.goto(`${BASE}/console/login?lang=${lang}`);
    await page.screenshot({ path: `${SHOTS}/login-${lang}.png` });
    await page.getByLabel(lang === "en" ? "User name" : "用户名").fill(DESK);
    await page.getByLabel(lang === "en" ? "Password" : "密码", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: lang === "en" ? "Sign in" : "登录" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(),
      lang === "en" ? /Wrong user name or password/ : /用户名或密码不正确/);
    await signIn(page, DESK, lang);

    // The kiosk is listed within 5 s of a heartbeat, without a reload.
    await heartbeat(lang === "en" ? "paper_low" : "ok");
    const row = page.locator("tbody#kiosks tr", { hasText: KIOSK });
    await row.waitFor({ timeout: 5000 });
    if (lang === "en") {
      await page.locator("tbody#kiosks", { hasText: "Paper low" }).waitFor({ timeout: 5000 });
    }

    // A help call: highlighted, first, announced, without a reload.
    const loads = [];
    page.on("load", () => loads.push(Date.now()));
    const r = await kioskApi("/api/v1/fleet/help", { needs_help: true, note: "老人不会操作" });
    assert.ok(r.ok, `help: ${r.status}`);
    await page.locator("tbody#kiosks tr.help", { hasText: KIOSK }).waitFor({ timeout: 5000 });
    await page.locator("#announce").waitFor({ state: "visible", timeout: 5000 });
    assert.equal(loads.length, 0, "the page was not reloaded");
    assert.match(await page.title(), /^\(1\) /);
    await page.screenshot({ path: `${SHOTS}/kiosks-help-${lang}.png`, fullPage: true });

    // One kiosk: restart after the citizen, confirmed; the kiosk fetches and acknowledges it.
    await page.getByRole("link", { name: KIOSK }).click();
    await page.waitForURL(`${BASE}/console/kiosks/${KIOSK}`);
    const restart = lang === "en" ? "Restart (after the citizen)" : "重启程序（本次服务结束后）";
    await page.getByRole("button", { name: restart }).click();
    await page.waitForURL(`${BASE}/console/kiosks/${KIOSK}`);
    // The newest command comes first: this one, waiting until the kiosk acknowledges it.
    const newest = page.locator("table.commands tbody tr").first();
    await newest.getByText(lang === "en" ? "Waiting for the kiosk" : "等待终端领取").waitFor();
    const before = await page.locator("table.commands tbody tr").count();
    const loadsBefore = loads.length;
    const poll = await kioskApi("/api/v1/fleet/commands?wait=0");
    assert.equal(poll.status, 200, "the kiosk's poll gets the command");
    const cmd = await poll.json();
    const ack = await kioskApi(`/api/v1/fleet/commands/${cmd.id}/ack`, { ok: true, result: "restarted" });
    assert.ok(ack.ok, `ack: ${ack.status}`);
    await newest.getByText(lang === "en" ? "Done" : "已完成", { exact: true })
      .waitFor({ timeout: 5000 });
    assert.equal(await page.locator("table.commands tbody tr").count(), before);
    assert.match(await newest.innerText(), /restarted/);
    assert.equal(loads.length, loadsBefore, "the acknowledgement came without a reload");
    await page.screenshot({ path: `${SHOTS}/kiosk-${lang}.png`, fullPage: true });

    // The call is dealt with.
    await page.getByRole("button", { name: lang === "en" ? "Help done" : "求助已处理" }).click();
    await page.waitForURL(`${BASE}/console/kiosks/${KIOSK}`);
    assert.equal(await page.locator("tbody#kiosks tr.help").count(), 0);

    // The keyboard reaches every control: tabbing from the top lands on the actions.
    await page.keyboard.press("Tab");
    assert.ok(await page.evaluate(() => document.activeElement && document.activeElement !== document.body));
    await context.close();

    // A manager sees the kiosk but no action.
    const mctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const mpage = await mctx.newPage();
    await signIn(mpage, BOSS, lang);
    await mpage.goto(`${BASE}/console/kiosks/${KIOSK}`);
    assert.equal(await mpage.locator("form[action$='/command']").count(), 0, "no action for a manager");

    // The manager's dashboard: today's journeys, charts, nothing wider than the screen.
    await mpage.getByRole("link", { name: lang === "en" ? "Dashboard" : "运行监测" }).click();
    await mpage.waitForURL(`${BASE}/console/dashboard`);
    const figure = (name) => mpage.locator(`[data-figure=${name}] .tvalue`).innerText();
    assert.equal(await figure("sessions"), "3");
    assert.equal(await figure("submissions"), "1");
    assert.equal(await figure("abandoned"), "1");
    assert.equal(await figure("satisfaction"), "50.0%");
    assert.ok(await mpage.locator("svg[role=img]").count() >= 3, "the charts are drawn");
    assert.equal(await mpage.locator(`tr[data-kiosk="${KIOSK}"]`).count(), 1);
    assert.ok(await mpage.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      "nothing wider than 1366 px");
    // On a tablet held upright: nothing wider than the screen (the per-kiosk table scrolls in
    // its own box).
    await mpage.setViewportSize({ width: 768, height: 1024 });
    assert.ok(await mpage.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      "nothing wider than a tablet");
    await mpage.setViewportSize({ width: 1366, height: 768 });
    await mpage.getByRole("link", { name: lang === "en" ? "Last 7 days" : "近7天" }).click();
    await mpage.waitForURL(/period=7d/);
    assert.equal(await figure("sessions"), "3");
    await mpage.screenshot({ path: `${SHOTS}/dashboard-${lang}.png`, fullPage: true });
    // The period's figures as CSV, with the session's cookie.
    const [download] = await Promise.all([
      mpage.waitForEvent("download"),
      mpage.getByRole("link", { name: lang === "en" ? "Export CSV" : "导出CSV" }).click(),
    ]);
    const { readFile } = await import("node:fs/promises");
    const csv = await readFile(await download.path());
    assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], "UTF-8 with a byte-order mark");
    assert.ok(csv.toString("utf8").includes(`,${KIOSK},3,1,0,`), "the CSV holds the kiosk's figures");
    // The wall display, at the size of a hall's screen.
    await mpage.setViewportSize({ width: 1920, height: 1080 });
    await mpage.getByRole("link", { name: lang === "en" ? "Wall display" : "大屏模式" }).click();
    await mpage.waitForURL(/wall=1/);
    assert.equal(await mpage.locator("form").count(), 0, "no controls on the wall");
    await mpage.screenshot({ path: `${SHOTS}/dashboard-wall-${lang}.png` });
    await mctx.close();

    // An admin makes a first password for a new colleague: shown once, on the page.
    const actx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const apage = await actx.newPage();
    await signIn(apage, ADMIN, lang);
    await apage.getByRole("link", { name: lang === "en" ? "Administration" : "管理" }).click();
    await apage.getByLabel(lang === "en" ? "User name (letters, digits, . - _ @)" : "用户名（字母、数字、. - _ @）")
      .fill(`new.${lang}`);
    await apage.getByRole("button", { name: lang === "en" ? "Make a first password" : "生成初始密码" }).click();
    assert.match(await apage.locator("code.secret").innerText(), /^[A-Za-z2-9]{16}$/);
    await apage.screenshot({ path: `${SHOTS}/admin-${lang}.png`, fullPage: true });

    // Field updates: the admin uploads a release (the page's script sends the bundle), rolls it
    // out to the kiosk's hall; the kiosk learns of it in its heartbeat answer, and the rollout's
    // page follows its download and its rollback without a reload.
    const version = `2026.12.1-${lang}`;
    const files = await releaseFiles(version);
    await apage.getByRole("link", { name: lang === "en" ? "Updates" : "版本更新" }).click();
    await apage.waitForURL(`${BASE}/console/updates`);
    await apage.getByLabel(lang === "en" ? "Release JSON (.json)" : "版本说明（.json）").setInputFiles(files.json);
    await apage.getByLabel(lang === "en" ? "Bundle (.raucb)" : "安装包（.raucb）").setInputFiles(files.bundle);
    await apage.getByRole("button", { name: lang === "en" ? "Upload" : "上传", exact: true }).click();
    await apage.locator("table.releases", { hasText: version }).waitFor({ timeout: 10000 });
    await apage.locator("select#release").selectOption(version);
    await apage.locator("input#percent").fill("100");
    await apage.getByRole("button", { name: lang === "en" ? "Start the rollout" : "开始发布" }).click();
    await apage.waitForURL(/\/console\/rollouts\/ro-/);
    const answer = await systemBeat({ state: "idle" });
    assert.equal(answer.update?.release, version, "the heartbeat answer offers the release");
    const rloads = [];
    apage.on("load", () => rloads.push(Date.now()));
    await systemBeat({ state: "downloading", release: version, percent: 42 });
    await apage.locator("#live tbody tr", { hasText: "42%" }).waitFor({ timeout: 5000 });
    await apage.screenshot({ path: `${SHOTS}/rollout-${lang}.png`, fullPage: true });
    await systemBeat({ state: "rolled_back", release: version, reason: "health check: card reader absent" });
    await apage.locator("#live [role=alert]", { hasText: "card reader absent" }).waitFor({ timeout: 5000 });
    assert.equal(rloads.length, 0, "the rollout page followed without a reload");
    const resume = lang === "en" ? "Resume" : "继续发布";
    await apage.reload();
    assert.equal(await apage.getByRole("button", { name: resume }).count(), 1, "stopped: it may be resumed");
    await apage.screenshot({ path: `${SHOTS}/rollout-stopped-${lang}.png`, fullPage: true });
    await apage.getByRole("link", { name: lang === "en" ? "Updates" : "版本更新" }).first().click();
    await apage.screenshot({ path: `${SHOTS}/updates-${lang}.png`, fullPage: true });
    await actx.close();
  }
  console.log("console browser test: passed");
} finally {
  await browser.close();
}
