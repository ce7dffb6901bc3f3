// The console's live parts: a page with a `#live[data-live]` region fetches it again whenever the
// platform says the fleet changed (server-sent events), and announces a new help call (banner,
// title and a short tone). Forms with data-confirm ask before they are sent.
"use strict";

document.addEventListener("submit", (e) => {
  const question = e.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    e.preventDefault();
  }
});

// A release's upload: the bundle goes as it is (never through a form encoding), with the values
// of the release's JSON in the query string; the platform checks them before storing it.
document.addEventListener("submit", async (e) => {
  const form = e.target;
  if (!form.hasAttribute("data-upload") || e.defaultPrevented) {
    return;
  }
  e.preventDefault();
  const status = form.querySelector("[data-status]");
  const sidecar = form.querySelector("input[name=sidecar]").files[0];
  const bundle = form.querySelector("input[name=bundle]").files[0];
  if (!sidecar || !bundle) {
    return;
  }
  try {
    const m = JSON.parse(await sidecar.text());
    const q = new URLSearchParams({
      version: m.version, compatible: m.compatible, root_sha256: m.root_sha256,
      size: String(m.size), sha256: m.sha256,
    });
    status.textContent = form.getAttribute("data-sending");
    const r = await fetch(form.getAttribute("action") + "?" + q.toString(), {
      method: "POST", body: bundle, credentials: "same-origin",
      headers: {
        "content-type": "application/octet-stream",
        "x-console-token": form.querySelector("input[name=csrf]").value,
      },
    });
    if (r.ok) {
      window.location.reload();
    } else {
      status.textContent = await r.text();
    }
  } catch (err) {
    status.textContent = String(err);
  }
});

function helpCount(root) {
  const t = root.querySelector("[data-help]");
  return t ? Number(t.getAttribute("data-help")) || 0 : 0;
}

function tone() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
  } catch (_) {
    // No sound on this browser: the banner and the title still say it.
  }
}

function announce(count) {
  const banner = document.getElementById("announce");
  if (banner) {
    banner.hidden = false;
  }
  document.title = "(" + count + ") " + document.title.replace(/^\(\d+\) /, "");
  tone();
}

window.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (!live || !window.EventSource) {
    return;
  }
  const url = live.getAttribute("data-live");
  let help = helpCount(live);
  let pending = null;
  async function refresh() {
    pending = null;
    try {
      const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) {
        window.location.assign("/console/login");
        return;
      }
      if (!r.ok) {
        return;
      }
      live.innerHTML = await r.text();
      const now = helpCount(live);
      if (now > help) {
        announce(now);
      }
      help = now;
      live.setAttribute("data-updated", String(Date.now()));
    } catch (_) {
      // The next event brings the page up to date.
    }
  }
  const events = new EventSource("/console/events");
  events.addEventListener("fleet", () => {
    if (!pending) {
      pending = setTimeout(refresh, 250);
    }
  });
  // Connected (or again, after a break): what changed since the page was drawn, or while the
  // connection was down, was announced to nobody; fetch the region once.
  events.addEventListener("open", () => {
    document.body.classList.remove("disconnected");
    if (!pending) {
      pending = setTimeout(refresh, 0);
    }
  });
  events.addEventListener("error", () => document.body.classList.add("disconnected"));
});
