//! Fee notices and payment orders against the real platform: QR and scanned payment codes, the
//! wallet's rhythm, superseded and expiring orders, signed callbacks, one payment per notice.

mod common;

use std::time::Duration;

use common::{Hall, Kind, has_error, problem, today};

use hall_domain::api::{self, CaseView, FeeNotice, NoticeStatus, Order, OrderStatus};
use hall_platform::demo;
use reqwest::StatusCode;
use serde_json::json;

/// Production is production: without the demo option there is no simulated payer, no
/// simulated callback and, with no payment provider configured, no new payment order.
async fn without_the_demo_nothing_is_simulated(kind: Kind) {
    let db = fresh!(kind);
    // A fee notice as the agency's system would have issued it (here: by the demo hall
    // earlier on the same database), with a QR order made then.
    let hall = Hall::start(&db.url).await;
    let code = demo::PAYMENT_CODE;
    let order: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    hall.server.shutdown().await;

    let hall = Hall::start_with(&db.url, |c| c.demo = false).await;
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);
    let p = problem(
        hall.post_json(&api::orders_path(code), &json!({ "method": "qr" }))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(
        p.detail.as_deref().is_some_and(|d| d.contains("支付服务")),
        "{p:?}"
    );
    let resp = hall.post(&api::sim_pay_path(&order.order_id)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = hall
        .post_json(
            api::SIM_CALLBACK,
            &json!({ "order_id": order.order_id, "outcome": "paid", "amount_fen": order.amount_fen,
                     "sent_ms": 0 }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // The order made in the demo stays as it was: nobody pays it.
    let still: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    hall.server.shutdown().await;

    // And a database that never saw the demo has no demo case.
    let fresh_db = fresh!(kind);
    let hall = Hall::start_with(&fresh_db.url, |c| c.demo = false).await;
    let resp = hall.get(&api::fee_notice_path(code)).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    hall.server.shutdown().await;
}

async fn qr_payment_pays_a_notice_once(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let code = demo::PAYMENT_CODE;

    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);
    assert_eq!(notice.total_fen, demo::PAYMENT_TOTAL_FEN);
    assert_eq!(notice.payer, "张**", "a person's name is masked");
    let p = problem(
        hall.get(&api::fee_notice_path("42060026110200009999"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "payment_code", "not_found"));

    let resp = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let order: Order = resp.json().await.unwrap();
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.amount_fen, demo::PAYMENT_TOTAL_FEN);
    assert_eq!(
        order.qr_payload.as_deref(),
        Some(format!("https://pay.hall.example/q/{}", order.order_id).as_str())
    );
    let expires = order.expires_at.unwrap();
    let now = chrono::Local::now().naive_local().time();
    let ttl = (expires - today().and_time(now)).num_seconds();
    assert!(
        (595..=601).contains(&ttl),
        "expires in {ttl} s (ten minutes)"
    );

    let polled: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled.status, OrderStatus::Pending);

    // The demo phone pays.
    let resp = hall.post(&api::sim_pay_path(&order.order_id)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let paid: Order = resp.json().await.unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert!(paid.transaction_id.is_some());
    let receipt = paid.receipt_no.clone().unwrap();
    assert!(paid.paid_at.is_some());
    let polled: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled, paid);

    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Paid);
    assert_eq!(notice.receipt_no.as_deref(), Some(receipt.as_str()));
    assert_eq!(notice.paid_at, paid.paid_at);

    // Never twice: a new order is refused, the paid one cannot be cancelled.
    let p = problem(
        hall.post_json(&api::orders_path(code), &json!({ "method": "qr" }))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "payment_code", "already_paid"));
    let p = problem(
        hall.post(&api::order_cancel_path(&order.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "already_paid"));

    hall.server.shutdown().await;
}

async fn scanned_payment_codes_and_cancellation(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;

    // A code the wallet does not recognise.
    let p = problem(
        hall.post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": "994567890123456789" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(has_error(&p, "auth_code", "shape"));

    // Declined at once.
    let resp = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_FAIL }),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let failed: Order = resp.json().await.unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("余额不足"));
    assert!(failed.qr_payload.is_none());

    // The payer never confirms; the kiosk cancels.
    let silent: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_SILENT }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(silent.status, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still: Order = hall
        .get(&api::order_path(&silent.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    // Not reversed within 15 s of the debit attempt: the cancellation waits (see
    // `a_scanned_code_is_never_reversed_within_15_s_of_its_debit`).
    let resp = hall.post(&api::order_cancel_path(&silent.order_id)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let cancelling: Order = resp.json().await.unwrap();
    assert_eq!(cancelling.status, OrderStatus::Pending);
    assert!(cancelling.cancelling);
    // Cancelling again changes nothing.
    let again = hall.post(&api::order_cancel_path(&silent.order_id)).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Order = again.json().await.unwrap();
    assert!(again.cancelling);
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);

    // A good code is paid once the payer delay has passed, when the order is next queried.
    let ok: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_OK }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok.status, OrderStatus::Pending);
    let polled: Order = hall
        .get(&api::order_path(&ok.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        polled.status,
        OrderStatus::Pending,
        "the payer has not confirmed yet"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The payer has confirmed by now, though nobody asked: a new order for the notice finds the
    // payment instead of withdrawing the order.
    let p = problem(
        hall.post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "qr" }),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "payment_code", "already_paid"));
    let paid: Order = hall
        .get(&api::order_path(&ok.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.amount_fen, demo::PAYMENT_CASE_TOTAL_FEN);
    let case: CaseView = hall
        .get(&api::case_path(demo::CASE_UNPAID))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case.fee_notices[0].status, NoticeStatus::Paid);

    // A scan order cannot be "paid" on the demo phone.
    let p = problem(
        hall.post(&api::sim_pay_path(&ok.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_qr"));
    let p = problem(
        hall.get(&api::order_path("nope")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_found"));

    hall.server.shutdown().await;
}

/// A scanned payment code is never reversed within 15 s of its debit attempt, whoever asks: the
/// kiosk's cancel (202, the order still pending and `cancelling`) and a new order on the notice
/// (409 with Retry-After) wait; the platform's follow-up pass reverses it once the 15 s have
/// passed, without anybody polling.
async fn a_scanned_code_is_never_reversed_within_15_s_of_its_debit(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.wallet_query_every = Duration::from_millis(500);
    })
    .await;
    let code = demo::PAYMENT_CODE;
    let opened = std::time::Instant::now();
    let silent: Order = hall
        .post_json(
            &api::orders_path(code),
            &json!({ "method": "scan", "auth_code": demo::WALLET_SILENT }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(silent.status, OrderStatus::Pending);
    let resp = hall.post(&api::order_cancel_path(&silent.order_id)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let held: Order = resp.json().await.unwrap();
    assert_eq!(held.status, OrderStatus::Pending);
    assert!(held.cancelling);
    // The payer chooses anew at once: refused until the scanned code is reversed.
    let resp = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15).contains(&retry), "Retry-After {retry}");
    let p = problem(resp, StatusCode::CONFLICT).await;
    assert!(has_error(&p, "payment_code", "reversal_pending"));
    let pending_sql = format!(
        "SELECT count(*) FROM orders WHERE order_id = '{}' AND status = 'pending'",
        silent.order_id
    );
    let status_in_db = || db.scalar(&pending_sql);
    // Up to just before 15 s: still pending, in the database as to the kiosk.
    tokio::time::sleep(Duration::from_millis(14_000).saturating_sub(opened.elapsed())).await;
    assert_eq!(status_in_db().await, 1, "reversed within 15 s of its debit");
    let polled: Order = hall
        .get(&api::order_path(&silent.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled.status, OrderStatus::Pending);
    assert!(polled.cancelling);
    // After the 15 s, the follow-up pass reverses it with nobody asking.
    let mut reversed = false;
    while opened.elapsed() < Duration::from_secs(19) {
        if status_in_db().await == 0 {
            reversed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(reversed, "the wanted cancellation was never carried out");
    assert!(opened.elapsed() >= Duration::from_secs(15));
    let done: Order = hall
        .get(&api::order_path(&silent.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Cancelled);
    assert!(!done.cancelling);
    // And now a new order is accepted.
    let resp = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    hall.server.shutdown().await;
}

/// A new order supersedes only the same kiosk's pending orders on the notice: another kiosk's
/// payer at work is not cancelled from elsewhere (409 `paying_elsewhere`), and once that order
/// ends, the notice can be paid anywhere.
async fn a_new_order_never_cancels_another_kiosks_order(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.order_ttl = Duration::from_millis(1500);
    })
    .await;
    let code = demo::PAYMENT_CODE;
    let other = hall.kiosk("kiosk-other").await;
    let theirs: Order = other
        .post(hall.url(&api::orders_path(code)))
        .json(&json!({ "method": "qr" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p = problem(
        hall.post_json(&api::orders_path(code), &json!({ "method": "qr" }))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "payment_code", "paying_elsewhere"));
    let still: Order = other
        .get(hall.url(&api::order_path(&theirs.order_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    // The same kiosk choosing anew supersedes its own.
    let second: Order = other
        .post(hall.url(&api::orders_path(code)))
        .json(&json!({ "method": "qr" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second.status, OrderStatus::Pending);
    let first: Order = other
        .get(hall.url(&api::order_path(&theirs.order_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first.status, OrderStatus::Cancelled);
    // Once the other kiosk's order has expired, this kiosk may open one.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let resp = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    hall.server.shutdown().await;
}

/// A scanned payment code follows the wallets' rules: the service is asked at its own rhythm
/// however often the kiosk polls, and an order the payer never confirms is reversed when the
/// payer's window closes, not before 15 s.
async fn the_wallet_is_asked_at_its_rhythm_and_reversed_after_the_window(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.wallet_query_every = Duration::from_millis(1500);
        // Below the floor: the platform still waits 15 s.
        c.payer_confirm_limit = Duration::from_secs(1);
    })
    .await;
    let get = |id: String| {
        let hall = &hall;
        async move {
            let o: Order = hall.get(&api::order_path(&id)).await.json().await.unwrap();
            o.status
        }
    };
    let ok: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_OK }),
        )
        .await
        .json()
        .await
        .unwrap();
    // Asked at once: the payer (300 ms) has not confirmed yet.
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The payer has confirmed, but the kiosk's next poll is answered from the last query.
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Pending);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(ok.order_id.clone()).await, OrderStatus::Paid);

    let silent: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "scan", "auth_code": demo::WALLET_SILENT }),
        )
        .await
        .json()
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut last = OrderStatus::Pending;
    while started.elapsed() < Duration::from_secs(20) {
        last = get(silent.order_id.clone()).await;
        if last != OrderStatus::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(last, OrderStatus::Expired);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(14_900),
        "never reversed within 15 s: {took:?}"
    );
    hall.server.shutdown().await;
}

async fn a_new_order_supersedes_and_pending_orders_expire(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| {
        c.order_ttl = Duration::from_millis(300);
    })
    .await;
    let code = demo::PAYMENT_CODE;

    // The payer switches from the QR code to scanning: the QR order can no longer be paid.
    let first: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    let second: Order = hall
        .post_json(&api::orders_path(code), &json!({ "method": "qr" }))
        .await
        .json()
        .await
        .unwrap();
    let first_now: Order = hall
        .get(&api::order_path(&first.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first_now.status, OrderStatus::Cancelled);
    let p = problem(
        hall.post(&api::sim_pay_path(&first.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_pending"));

    // Nobody pays the second within its lifetime.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let expired: Order = hall
        .get(&api::order_path(&second.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(expired.status, OrderStatus::Expired);
    let p = problem(
        hall.post(&api::sim_pay_path(&second.order_id)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(has_error(&p, "order_id", "not_pending"));
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(code))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Unpaid);

    hall.server.shutdown().await;
}

async fn payment_callbacks_are_signed_and_verified(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start_with(&db.url, |c| c.callback_key = Some("test-key".into())).await;
    let key = hall_platform::payment::CallbackKey::new(b"test-key");
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let callback = |amount: i64, sent_ms: i64| {
        serde_json::to_vec(&json!({
            "order_id": order.order_id,
            "outcome": "paid",
            "amount_fen": amount,
            "transaction_id": "WX4200001234",
            "sent_ms": sent_ms
        }))
        .unwrap()
    };
    let send = |body: Vec<u8>, sig: Option<String>| {
        let mut req = hall
            .http
            .post(hall.url("/api/v1/payments/simulated/callback"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = sig {
            req = req.header(hall_platform::payment::SIGNATURE_HEADER, sig);
        }
        req.send()
    };
    let body = callback(demo::PAYMENT_TOTAL_FEN, now_ms);
    // Unsigned, signed with another key, signature of another body: refused.
    problem(
        send(body.clone(), None).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = hall_platform::payment::CallbackKey::new(b"guess");
    problem(
        send(body.clone(), Some(wrong.sign(&body))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let other = callback(1, now_ms);
    problem(
        send(body.clone(), Some(key.sign(&other))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // Signed but stale, or for another amount: refused.
    let stale = callback(demo::PAYMENT_TOTAL_FEN, now_ms - 3_600_000);
    problem(
        send(stale.clone(), Some(key.sign(&stale))).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        send(other.clone(), Some(key.sign(&other))).await.unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    let still: Order = hall
        .get(&api::order_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::Pending);
    // Signed and true: paid, with an e-receipt number; a repeat changes nothing.
    let paid: Order = send(body.clone(), Some(key.sign(&body)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.transaction_id.as_deref(), Some("WX4200001234"));
    let receipt = paid.receipt_no.clone().unwrap();
    let again: Order = send(body.clone(), Some(key.sign(&body)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, paid);
    let notice: FeeNotice = hall
        .get(&api::fee_notice_path(demo::PAYMENT_CODE))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notice.status, NoticeStatus::Paid);
    assert_eq!(notice.receipt_no.as_deref(), Some(receipt.as_str()));
    // The demo phone goes through the same signed callback.
    let order2: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE_CASE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let paid2: Order = hall
        .post(&api::sim_pay_path(&order2.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid2.status, OrderStatus::Paid);
    assert_ne!(paid2.receipt_no, paid.receipt_no);
    hall.server.shutdown().await;
}

async fn the_schema_refuses_a_second_payment(kind: Kind) {
    let db = fresh!(kind);
    let hall = Hall::start(&db.url).await;
    let order: Order = hall
        .post_json(
            &api::orders_path(demo::PAYMENT_CODE),
            &json!({ "method": "qr" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let paid: Order = hall
        .post(&api::sim_pay_path(&order.order_id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    hall.server.shutdown().await;
    let code = demo::PAYMENT_CODE;
    // Asked directly, the database refuses to undo the payment...
    assert!(
        !db.try_batch(&format!(
            "UPDATE fee_notices SET status = 'unpaid', paid_order_id = NULL, receipt_no = NULL, \
             paid_at = NULL WHERE payment_code = '{code}'"
        ))
        .await
    );
    // ...to pay it by a second order...
    db.batch(&format!(
        "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, provider,
           provider_state, created_ms, expires_ms, created_at, expires_at)
         VALUES ('c', '{code}', 'qr', 'pending', 1000, 'test', '', 0, 1, '2026-11-23 09:00:00',
           '2026-11-23 09:00:00')"
    ))
    .await;
    assert!(
        !db.try_batch(
            "UPDATE orders SET status = 'paid', transaction_id = 't', receipt_no = 'r', \
             paid_at = '2026-11-23 09:00:00' WHERE order_id = 'c'"
        )
        .await
    );
    // ...to insert an order already paid, or to change a paid order.
    assert!(
        !db.try_batch(&format!(
            "INSERT INTO orders (order_id, payment_code, method, status, amount_fen, provider,
               provider_state, created_ms, expires_ms, created_at, expires_at, transaction_id,
               receipt_no, paid_at)
             VALUES ('d', '{code}', 'qr', 'paid', 1000, 'test', '', 0, 1, 'x', 'x', 't', 'r', 'x')"
        ))
        .await
    );
    assert!(
        !db.try_batch(&format!(
            "UPDATE orders SET status = 'cancelled' WHERE order_id = '{}'",
            order.order_id
        ))
        .await
    );
    // A newer schema than this program knows is refused.
    db.batch(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')",
    )
    .await;
    let url = db.url.clone();
    let err = tokio::task::spawn_blocking(move || hall_platform::store::Store::open(&url).err())
        .await
        .unwrap();
    assert!(
        matches!(
            err,
            Some(hall_platform::StoreError::TooNew { found: 99, .. })
        ),
        "{err:?}"
    );
}

both!(
    without_the_demo_nothing_is_simulated,
    qr_payment_pays_a_notice_once,
    scanned_payment_codes_and_cancellation,
    the_wallet_is_asked_at_its_rhythm_and_reversed_after_the_window,
    a_new_order_supersedes_and_pending_orders_expire,
    a_scanned_code_is_never_reversed_within_15_s_of_its_debit,
    a_new_order_never_cancels_another_kiosks_order,
    payment_callbacks_are_signed_and_verified,
    the_schema_refuses_a_second_payment,
);
