//! Rollouts against the real platform on loopback (SQLite and PostgreSQL): to one kiosk, a hall,
//! or a share of a hall (the same kiosks every time, widening keeps them); the heartbeat answer
//! offers the release only to targeted, compatible kiosks that do not run it yet; a kiosk's
//! failure stops a rollout that says so (and no other kiosk is offered it), or not; every state
//! recorded with its time; only admins start and change rollouts.

mod common;

use std::collections::BTreeSet;

use common::Kind;
use common::updates::{COMPATIBLE, Updates, system};
use hall_domain::api::{self, SystemReport, UpdateState};
use hall_platform::updates::bucket;
use reqwest::StatusCode;
use serde_json::{Value, json};

const HALL: &str = "东津新区政务服务中心";
const OTHER_HALL: &str = "襄州区政务服务中心";

fn ids(rollout: &Value) -> BTreeSet<String> {
    rollout["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kiosk_id"].as_str().unwrap().to_string())
        .collect()
}

fn progress_of<'a>(rollout: &'a Value, kiosk: &str) -> &'a str {
    rollout["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kiosk_id"] == kiosk)
        .and_then(|k| k["progress"].as_str())
        .unwrap_or("absent")
}

async fn rollouts_reach_the_kiosks_they_name(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    u.add_release("2026.12.1", 4096).await;
    let idle = |v: &str| Some(system(v, UpdateState::Idle));

    let mut hall = Vec::new();
    for i in 0..20 {
        let id = format!("K-{i:02}");
        let credential = u.kiosk(&id, HALL).await;
        hall.push((id, credential));
    }
    let elsewhere = u.kiosk("X-01", OTHER_HALL).await;
    for (_, c) in &hall {
        assert!(
            u.beat(c, idle("2026.11.1")).await.update.is_none(),
            "nothing rolled out yet"
        );
    }

    // One kiosk.
    let one = u
        .start_rollout(&admin, json!({"release": "2026.12.1", "kiosk_id": "K-03"}))
        .await;
    assert_eq!(ids(&one), BTreeSet::from(["K-03".to_string()]));
    let offer = u
        .beat(&hall[3].1, idle("2026.11.1"))
        .await
        .update
        .expect("K-03 offered");
    assert_eq!(offer.rollout, one["id"].as_str().unwrap());
    assert_eq!(offer.compatible, COMPATIBLE);
    assert!(u.beat(&hall[4].1, idle("2026.11.1")).await.update.is_none());
    let r = u
        .post(
            &admin,
            &api::fleet_rollout_path(one["id"].as_str().unwrap()),
            &json!({"action": "stop"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        u.beat(&hall[3].1, idle("2026.11.1")).await.update.is_none(),
        "stopped"
    );

    // Half of the hall: about half, the same ones each time, never the other hall.
    let half = u
        .start_rollout(
            &admin,
            json!({"release": "2026.12.1", "hall": HALL, "percent": 50}),
        )
        .await;
    let id = half["id"].as_str().unwrap().to_string();
    let first = ids(&half);
    // The rollout's id is random, so which kiosks fall in its half is too; the share is the
    // kiosks whose bucket lies below it (the spread of buckets is a unit test of `bucket`).
    let share = |percent: u8| -> BTreeSet<String> {
        hall.iter()
            .map(|(k, _)| k.clone())
            .filter(|k| bucket(&id, k) < percent)
            .collect()
    };
    assert_eq!(first, share(50), "the kiosks below half");
    assert_eq!(ids(&u.rollout(&admin, &id).await), first, "deterministic");
    let mut offered = BTreeSet::new();
    for (k, c) in &hall {
        if let Some(o) = u.beat(c, idle("2026.11.1")).await.update {
            assert_eq!(o.rollout, id);
            offered.insert(k.clone());
        }
    }
    assert_eq!(
        offered, first,
        "offered exactly to the kiosks the rollout names"
    );
    assert!(u.beat(&elsewhere, idle("2026.11.1")).await.update.is_none());
    let shown = u.rollout(&admin, &id).await;
    assert_eq!(shown["in_progress"], first.len());
    assert_eq!(shown["waiting"], 0);

    // Widening keeps the first ones; narrowing is refused.
    let r = u
        .post(
            &admin,
            &api::fleet_rollout_path(&id),
            &json!({"action": "widen", "percent": 90}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let wider: Value = r.json().await.unwrap();
    let wider_ids = ids(&wider);
    assert!(wider_ids.is_superset(&first), "{wider_ids:?}");
    assert_eq!(wider_ids, share(90), "the kiosks below 90 %");
    let r = u
        .post(
            &admin,
            &api::fleet_rollout_path(&id),
            &json!({"action": "widen", "percent": 40}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Not offered: a kiosk already running it (done), one taking other bundles, one reporting no
    // A/B system at all.
    let (k, c) = hall
        .iter()
        .find(|(k, _)| wider_ids.contains(k) && !first.contains(k))
        .unwrap();
    assert!(
        u.beat(c, idle("2026.12.1")).await.update.is_none(),
        "{k} runs it"
    );
    let (k2, c2) = hall
        .iter()
        .find(|(x, _)| wider_ids.contains(x) && x != k)
        .unwrap();
    let arm = SystemReport {
        compatible: Some("hall-kiosk-arm64".into()),
        ..system("2026.11.1", UpdateState::Idle)
    };
    assert!(
        u.beat(c2, Some(arm)).await.update.is_none(),
        "{k2} takes other bundles"
    );
    let (k3, c3) = hall
        .iter()
        .find(|(x, _)| wider_ids.contains(x) && x != k && x != k2)
        .unwrap();
    assert!(u.beat(c3, None).await.update.is_none());
    let shown = u.rollout(&admin, &id).await;
    assert_eq!(progress_of(&shown, k), "done");
    assert_eq!(progress_of(&shown, k2), "not_compatible");
    assert!(shown["done"].as_u64().unwrap() >= 1 && shown["not_compatible"].as_u64().unwrap() >= 1);
    let _ = k3;

    // A whole hall.
    let whole = u
        .start_rollout(&admin, json!({"release": "2026.12.1", "hall": OTHER_HALL}))
        .await;
    assert_eq!(ids(&whole), BTreeSet::from(["X-01".to_string()]));
    assert!(u.beat(&elsewhere, idle("2026.11.1")).await.update.is_some());
    u.server.shutdown().await;
}

async fn a_rollback_stops_the_rollout(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    u.add_release("2026.12.5", 4096).await;
    let a = u.kiosk("K-A", HALL).await;
    let b = u.kiosk("K-B", HALL).await;
    let c = u.kiosk("K-C", HALL).await;
    let rollout = u
        .start_rollout(&admin, json!({"release": "2026.12.5", "hall": HALL}))
        .await;
    assert_eq!(rollout["stop_on_failure"], true, "by default");
    let id = rollout["id"].as_str().unwrap().to_string();
    let rel = || "2026.12.5".to_string();

    assert!(
        u.beat(&a, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some()
    );
    assert!(
        u.beat(&b, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some()
    );
    let steps = [
        UpdateState::Downloading {
            release: rel(),
            percent: 10,
        },
        UpdateState::Downloading {
            release: rel(),
            percent: 80,
        },
        UpdateState::Installing {
            release: rel(),
            percent: 50,
        },
        UpdateState::Installed { release: rel() },
        UpdateState::Trying { release: rel() },
    ];
    for s in steps {
        let answer = u.beat(&a, Some(system("2026.11.1", s))).await;
        assert!(answer.update.is_some(), "still offered while on its way");
    }
    let shown = u.rollout(&admin, &id).await;
    let a_row = shown["kiosks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kiosk_id"] == "K-A")
        .unwrap();
    assert_eq!(
        (a_row["state"].as_str(), a_row["progress"].as_str()),
        (Some("trying"), Some("in_progress"))
    );
    assert!(a_row["since"].is_string());

    // K-A comes back on its old slot.
    let back = UpdateState::RolledBack {
        release: rel(),
        reason: "health check: printer absent".into(),
    };
    let answer = u.beat(&a, Some(system("2026.11.1", back.clone()))).await;
    assert!(answer.update.is_none(), "never offered again");
    let shown = u.rollout(&admin, &id).await;
    assert_eq!(shown["state"], "stopped");
    assert_eq!(shown["stopped_by_kiosk"], "K-A");
    assert!(
        shown["stop_reason"]
            .as_str()
            .unwrap()
            .contains("printer absent"),
        "{shown}"
    );
    assert_eq!(shown["failed"], 1);
    assert_eq!(progress_of(&shown, "K-A"), "failed");
    // Nobody else is offered it now, not even K-B, which had been.
    assert!(
        u.beat(&b, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_none()
    );
    assert!(
        u.beat(&c, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_none()
    );
    // Every change recorded with its time: offered, downloading, installing, installed, trying,
    // rolled back (percentages within a state are not changes).
    assert_eq!(
        db.scalar(&format!(
            "SELECT count(*) FROM rollout_events WHERE rollout_id = '{id}' AND kiosk_id = 'K-A'"
        ))
        .await,
        6
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM audit_log WHERE action = 'rollout.stopped'")
            .await,
        1
    );
    // The kiosk's own page shows its system.
    let k: hall_domain::api::KioskStatus = u
        .get(&admin, &api::fleet_kiosk_path("K-A"))
        .await
        .json()
        .await
        .unwrap();
    let sys = k.system.expect("system kept");
    assert_eq!(
        (sys.os_version.as_str(), sys.slot.as_deref(), sys.update),
        ("2026.11.1", Some("A"), back.clone())
    );

    // Resumed: K-B and K-C are offered it again, K-A is not.
    let r = u
        .post(
            &admin,
            &api::fleet_rollout_path(&id),
            &json!({"action": "resume"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        u.beat(&a, Some(system("2026.11.1", back)))
            .await
            .update
            .is_none()
    );
    assert!(
        u.beat(&b, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some()
    );
    // K-B boots it: done.
    let booted = UpdateState::Booted { release: rel() };
    assert!(
        u.beat(&b, Some(system("2026.12.5", booted)))
            .await
            .update
            .is_none()
    );
    assert_eq!(progress_of(&u.rollout(&admin, &id).await, "K-B"), "done");
    // A new rollout of the release to K-A, which still says it rolled back (from the first):
    // offered again, and that old ending is no news of the new rollout, which goes on.
    let again = u
        .start_rollout(&admin, json!({"release": "2026.12.5", "kiosk_id": "K-A"}))
        .await;
    let again_id = again["id"].as_str().unwrap().to_string();
    let back = UpdateState::RolledBack {
        release: rel(),
        reason: "health check: printer absent".into(),
    };
    for _ in 0..2 {
        let answer = u.beat(&a, Some(system("2026.11.1", back.clone()))).await;
        assert_eq!(answer.update.map(|o| o.rollout), Some(again_id.clone()));
    }
    let shown = u.rollout(&admin, &again_id).await;
    assert_eq!(shown["state"], "running");
    assert_eq!(progress_of(&shown, "K-A"), "in_progress");
    let downloading = UpdateState::Downloading {
        release: rel(),
        percent: 5,
    };
    u.beat(&a, Some(system("2026.11.1", downloading))).await;
    let shown = u.rollout(&admin, &again_id).await;
    assert_eq!(shown["kiosks"][0]["state"], "downloading");
    u.server.shutdown().await;
}

async fn without_stop_on_failure_it_goes_on(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    u.add_release("2026.12.6", 4096).await;
    let a = u.kiosk("K-A", HALL).await;
    let b = u.kiosk("K-B", HALL).await;
    let rollout = u
        .start_rollout(
            &admin,
            json!({"release": "2026.12.6", "hall": HALL, "stop_on_failure": false}),
        )
        .await;
    let id = rollout["id"].as_str().unwrap().to_string();
    assert!(
        u.beat(&a, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some()
    );
    let refused = UpdateState::Refused {
        release: "2026.12.6".into(),
        reason: "signature".into(),
    };
    assert!(
        u.beat(&a, Some(system("2026.11.1", refused)))
            .await
            .update
            .is_none(),
        "not again for K-A"
    );
    let shown = u.rollout(&admin, &id).await;
    assert_eq!(shown["state"], "running");
    assert_eq!(shown["failed"], 1);
    assert!(
        u.beat(&b, Some(system("2026.11.1", UpdateState::Idle)))
            .await
            .update
            .is_some(),
        "K-B still"
    );
    // K-A's bundle stays downloadable (it was offered it), K-B's too.
    let path = api::release_bundle_path("2026.12.6");
    assert_eq!(u.get(&b, &path).await.status(), StatusCode::OK);
    u.server.shutdown().await;
}

async fn only_admins_roll_out(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    let desk = u.token("helpdesk", "desk").await;
    u.add_release("2026.12.7", 4096).await;
    u.kiosk("K-A", HALL).await;
    let body = json!({"release": "2026.12.7", "kiosk_id": "K-A"});
    assert_eq!(
        u.post(&desk, api::FLEET_ROLLOUTS, &body).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        u.http
            .post(format!("{}{}", u.base, api::FLEET_ROLLOUTS))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let rollout = u.start_rollout(&admin, body).await;
    let path = api::fleet_rollout_path(rollout["id"].as_str().unwrap());
    for change in [json!({"action": "stop"}), json!({"action": "resume"})] {
        assert_eq!(
            u.post(&desk, &path, &change).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    // The help desk reads.
    assert_eq!(
        u.get(&desk, api::FLEET_ROLLOUTS).await.status(),
        StatusCode::OK
    );
    assert_eq!(u.get(&desk, &path).await.status(), StatusCode::OK);
    assert_eq!(
        u.get(&desk, api::FLEET_RELEASES).await.status(),
        StatusCode::OK
    );
    // Refusals in words.
    for (body, status) in [
        (
            json!({"release": "2099.1", "kiosk_id": "K-A"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"release": "2026.12.7", "kiosk_id": "K-NONE"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"release": "2026.12.7", "hall": "nowhere"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"release": "2026.12.7", "kiosk_id": "K-A", "hall": HALL}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"release": "2026.12.7", "hall": HALL, "percent": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"release": "2026.12.7", "kiosk_id": "K-A", "percent": 50}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(
            u.post(&admin, api::FLEET_ROLLOUTS, &body).await.status(),
            status,
            "{body}"
        );
    }
    assert_eq!(
        u.get(&admin, &api::fleet_rollout_path("ro-none"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    u.server.shutdown().await;
}

async fn kioskctl(base: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec![
        "--platform".to_string(),
        base.to_string(),
        "--token".into(),
        token.into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kioskctl"))
            .args(&all)
            .env_remove("KIOSKCTL_TOKEN")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    })
    .await
    .unwrap()
}

async fn kioskctl_rolls_out(kind: Kind) {
    let db = fresh!(kind);
    let u = Updates::start(&db).await;
    let admin = u.token("admin", "admin").await;
    let desk = u.token("helpdesk", "desk").await;
    u.add_release("2026.12.8", 4096).await;
    let a = u.kiosk("K-A", HALL).await;
    let (ok, _, err) = kioskctl(
        &u.base,
        &desk,
        &["rollout", "start", "2026.12.8", "--kiosk", "K-A"],
    )
    .await;
    assert!(!ok && err.contains("403"), "{err}");
    let (ok, out, err) = kioskctl(
        &u.base,
        &admin,
        &[
            "rollout",
            "start",
            "2026.12.8",
            "--hall",
            HALL,
            "--percent",
            "100",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let id = out.split_whitespace().next().unwrap().to_string();
    assert!(id.starts_with("ro-"), "{out}");
    u.beat(&a, Some(system("2026.11.1", UpdateState::Idle)))
        .await;
    u.beat(
        &a,
        Some(system(
            "2026.11.1",
            UpdateState::Downloading {
                release: "2026.12.8".into(),
                percent: 30,
            },
        )),
    )
    .await;
    let (ok, out, err) = kioskctl(&u.base, &desk, &["rollout", "show", &id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("K-A") && out.contains("in_progress") && out.contains("downloading 30%"),
        "{out}"
    );
    let (ok, out, _) = kioskctl(&u.base, &admin, &["rollout", "stop", &id]).await;
    assert!(ok && out.contains("stopped"), "{out}");
    let (ok, out, _) = kioskctl(&u.base, &desk, &["rollout", "list"]).await;
    assert!(
        ok && out.contains(&id) && out.contains("stopped by fleet:admin:admin"),
        "{out}"
    );
    let (ok, out, _) = kioskctl(&u.base, &admin, &["--json", "rollout", "resume", &id]).await;
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["state"] == "running", "{out}");
    u.server.shutdown().await;
}

both!(
    kioskctl_rolls_out,
    rollouts_reach_the_kiosks_they_name,
    a_rollback_stops_the_rollout,
    without_stop_on_failure_it_goes_on,
    only_admins_roll_out,
);
