//! Paying a fee notice: QR for the phone, or the phone's payment code.

use super::*;

#[test]
fn pay_by_qr_polls_until_paid_and_prints() {
    let mut r = Rig::new();
    to_notice(&mut r);
    let fx = r.act(Intent::PayQr);
    assert!(matches!(
        fx.first(),
        Some(Effect::CreateOrder {
            request: OrderRequest::Qr,
            ..
        })
    ));
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    assert_eq!(r.s.screen(), Screen::Paying);
    assert_eq!(r.vm().pay.pay_qr_payload, "https://pay.hall.example/q/o-1");
    let fx = r.advance(1);
    assert_eq!(fx, vec![Effect::PollOrder("o-1".into())]);
    assert!(r.advance(1).is_empty(), "polls every 2 s, not every tick");
    let fx = r.advance(1);
    assert_eq!(fx, vec![Effect::PollOrder("o-1".into())]);
    // The person is at the phone: no timeout while a payment is pending.
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    for _ in 0..50 {
        r.advance(2);
    }
    assert_eq!(r.s.screen(), Screen::Paying);
    let fx = r.input(Input::Order(Ok(order(OrderStatus::Paid))));
    assert_eq!(r.s.screen(), Screen::Paid);
    let Some(Effect::Print(receipt)) = fx.first() else {
        panic!("expected the payment receipt");
    };
    let Receipt::Payment(p) = receipt.as_ref() else {
        panic!("expected a payment receipt");
    };
    assert_eq!(p.total_fen, 1_234_500);
    assert_eq!(p.receipt_no, "R456");
}

#[test]
fn scanned_wallet_code_that_never_confirms_is_cancelled() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayScan);
    assert_eq!(r.s.screen(), Screen::Paying);
    // Not a wallet code: told, nothing sent.
    let fx = r.input(Input::Device(DeviceEvent::Scanned("12345".into())));
    assert!(fx.is_empty());
    assert_eq!(r.vm().pay.pay_error, view::PayError::NotAWalletCode);
    let fx = r.input(Input::Device(DeviceEvent::Scanned(
        "134567890123459999".into(),
    )));
    assert!(matches!(
        fx.first(),
        Some(Effect::CreateOrder {
            request: OrderRequest::Scan { .. },
            ..
        })
    ));
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    // The wallet's window: counted down, never offered for extension, reversed at 30 s.
    let mut cancelled_at = None;
    for step in 1..=40 {
        let fx = r.advance(1);
        assert!(
            !r.vm().pay.pay_time_warning,
            "no more time for a scanned code"
        );
        r.act(Intent::MoreTime);
        if fx.contains(&Effect::CancelOrder("o-1".into())) {
            cancelled_at = Some(step);
            break;
        }
    }
    let at = cancelled_at.expect("cancelled");
    assert!(
        (29..=32).contains(&at),
        "cancelled after about 30 s, not {at}"
    );
    r.input(Input::Order(Ok(order(OrderStatus::Cancelled))));
    assert_eq!(r.s.screen(), Screen::PayFailed);
    assert_eq!(r.vm().pay.pay_failure, view::PayFailure::Cancelled);
    r.act(Intent::Retry);
    assert_eq!(r.s.screen(), Screen::Payment);
}

/// The payer cancels a scanned payment code at once: the platform holds the reversal until 15 s
/// after the debit attempt (the order comes back pending, `cancelling`), and the screen says the
/// payment is being cancelled, offers no second cancel, and keeps asking until the order ends.
#[test]
fn a_cancelled_scan_shows_it_is_being_cancelled_until_the_platform_ends_it() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayScan);
    r.input(Input::Device(DeviceEvent::Scanned(
        "134567890123459999".into(),
    )));
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    r.advance(1);
    assert!(!r.vm().pay.pay_cancelling);
    let fx = r.act(Intent::CancelPayment);
    assert_eq!(fx, vec![Effect::CancelOrder("o-1".into())]);
    assert!(r.vm().pay.pay_cancelling);
    let mut held = order(OrderStatus::Pending);
    held.cancelling = true;
    r.input(Input::Order(Ok(held)));
    assert_eq!(r.s.screen(), Screen::Paying);
    assert!(r.vm().pay.pay_cancelling, "shown as being cancelled");
    assert!(r.act(Intent::CancelPayment).is_empty(), "asked once");
    let mut polled = false;
    for _ in 0..5 {
        polled |= r.advance(1).contains(&Effect::PollOrder("o-1".into()));
    }
    assert!(polled, "the order is followed until it ends");
    r.input(Input::Order(Ok(order(OrderStatus::Cancelled))));
    assert_eq!(r.s.screen(), Screen::PayFailed);
    assert_eq!(r.vm().pay.pay_failure, view::PayFailure::Cancelled);
}

/// The payer's time warns at least 20 s ahead (spoken too), can be extended three times, and
/// the order is withdrawn only when the time is up.
#[test]
fn the_payers_time_warns_and_can_be_extended() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    r.advance(1);
    assert_eq!(r.vm().pay.pay_seconds_left, 120);
    assert!(!r.vm().pay.pay_time_warning);
    // More time is not taken before it is offered.
    r.act(Intent::MoreTime);
    let fx = r.raw_advance(90);
    assert_eq!(r.vm().pay.pay_seconds_left, 30);
    assert!(r.vm().pay.pay_time_warning, "warned 30 s ahead");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Speak(s) if s.prompt == "pay-timeout")),
        "the warning is spoken: {fx:?}"
    );
    for extension in 1..=crate::session::pay::MAX_EXTENSIONS {
        r.act(Intent::MoreTime);
        assert!(!r.vm().pay.pay_time_warning);
        r.advance(1);
        let left = r.vm().pay.pay_seconds_left;
        assert_eq!(left, 149, "a whole period more");
        // Up to the next warning.
        let fx = r.advance((left - 30) as u64);
        assert!(!fx.contains(&Effect::CancelOrder("o-1".into())));
        assert_eq!(r.vm().pay.pay_seconds_left, 30);
        assert_eq!(
            r.vm().pay.pay_time_warning,
            extension < crate::session::pay::MAX_EXTENSIONS
        );
    }
    // No more extensions: the last 30 s run out and the order is withdrawn.
    r.act(Intent::MoreTime);
    assert!(!r.advance(29).contains(&Effect::CancelOrder("o-1".into())));
    assert!(r.advance(1).contains(&Effect::CancelOrder("o-1".into())));
    assert_eq!(
        r.s.screen(),
        Screen::Paying,
        "the screen waits for the withdrawal"
    );
}

#[test]
fn failed_payment_says_why() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayScan);
    r.input(Input::Device(DeviceEvent::Scanned(
        "134567890123450000".into(),
    )));
    r.input(Input::Order(Ok(order(OrderStatus::Failed))));
    assert_eq!(r.s.screen(), Screen::PayFailed);
    assert_eq!(r.vm().pay.pay_failure_detail, "余额不足");
}

#[test]
fn finishing_during_a_payment_cancels_it() {
    let mut r = Rig::new();
    to_notice(&mut r);
    r.act(Intent::PayQr);
    r.input(Input::Order(Ok(order(OrderStatus::Pending))));
    let fx = r.act(Intent::Finish);
    assert!(fx.contains(&Effect::CancelOrder("o-1".into())));
    assert_eq!(r.s.screen(), Screen::Home);
}

#[test]
fn paid_notice_is_not_paid_again() {
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed("42060026110200000017");
    r.act(Intent::Next);
    let mut n = notice();
    n.status = NoticeStatus::Paid;
    r.input(Input::Notice(Ok(n)));
    assert_eq!(r.s.screen(), Screen::PayEntry);
    assert_eq!(r.vm().pay.pay_error, view::PayError::AlreadyPaid);
}

#[test]
fn pay_by_approval_code_finds_the_unpaid_notice() {
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed(approval_code().as_str());
    let fx = r.act(Intent::Next);
    assert_eq!(fx, vec![Effect::LookupCase(approval_code().to_string())]);
    let fx = r.input(Input::Case(Ok(case())));
    assert_eq!(fx, vec![Effect::FetchNotice("42060026110200000017".into())]);
    let mut no_fee = case();
    no_fee.fee_notices.clear();
    let mut r = Rig::new();
    r.act(Intent::StartPay);
    r.typed(approval_code().as_str());
    r.act(Intent::Next);
    r.input(Input::Case(Ok(no_fee)));
    assert_eq!(r.vm().pay.pay_error, view::PayError::NoFee);
}
