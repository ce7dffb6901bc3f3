//! Payment orders in the outbox: an order still waiting for its payer when the kiosk stopped is
//! cancelled on the next start (real platform on loopback, real outbox file), so no one is
//! charged at a kiosk that could not show it; an order that had ended is simply forgotten.

use std::collections::HashSet;
use std::time::Duration;

use hall_domain::api::{OrderRequest, OrderStatus};
use hall_kiosk::client::{HttpPlatform, PlatformApi};
use hall_kiosk::outbox::{Outbox, deliver};
use hall_platform::demo;

#[test]
fn an_order_left_waiting_by_a_stopped_kiosk_is_cancelled_on_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt
        .block_on(hall_platform::spawn(hall_platform::ServerConfig {
            // The simulated payer never pays by themselves in this test.
            sim_payer_delay: Duration::from_secs(3600),
            ..hall_platform::ServerConfig::demo_hall(
                dir.path().join("platform.sqlite"),
                ([127, 0, 0, 1], 0).into(),
            )
        }))
        .expect("platform starts");
    let credential = rt
        .block_on(server.enrol_kiosk("kiosk-01", "test hall"))
        .expect("the kiosk enrols");
    let api = HttpPlatform::new(&format!("http://{}", server.addr), Duration::from_secs(5))
        .expect("client")
        .with_credential(&credential);
    let path = dir.path().join("outbox.sqlite");

    // The kiosk creates an order and records it, then stops.
    let order = rt
        .block_on(api.create_order(demo::PAYMENT_CODE, &OrderRequest::Qr))
        .expect("order created");
    assert_eq!(order.status, OrderStatus::Pending);
    Outbox::open(&path)
        .expect("outbox")
        .put_order(&order.order_id)
        .expect("recorded");

    // The next start: the order is stale and still waiting, so it is cancelled and forgotten.
    let outbox = Outbox::open(&path).expect("outbox reopens");
    assert_eq!(
        outbox.orders().expect("orders"),
        vec![order.order_id.clone()]
    );
    let mut stale: HashSet<String> = outbox.orders().expect("orders").into_iter().collect();
    let round = rt
        .block_on(deliver(&outbox, &api, &mut stale))
        .expect("delivery round");
    assert_eq!(round.waiting, 0);
    assert!(outbox.orders().expect("orders").is_empty());
    let after = rt.block_on(api.order(&order.order_id)).expect("order");
    assert!(
        matches!(after.status, OrderStatus::Cancelled | OrderStatus::Expired),
        "{:?}",
        after.status
    );

    // An order of this run (not stale) is left alone until its screen settles it.
    let mine = rt
        .block_on(api.create_order(demo::PAYMENT_CODE, &OrderRequest::Qr))
        .expect("second order");
    outbox.put_order(&mine.order_id).expect("recorded");
    let mut none = HashSet::new();
    rt.block_on(deliver(&outbox, &api, &mut none))
        .expect("delivery round");
    assert_eq!(
        outbox.orders().expect("orders"),
        vec![mine.order_id.clone()]
    );
    let still = rt.block_on(api.order(&mine.order_id)).expect("order");
    assert_eq!(still.status, OrderStatus::Pending);
    rt.block_on(server.shutdown());
}
