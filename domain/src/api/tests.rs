use super::*;

/// Whether `path` is an instance of the route `pattern` (`{name}` matching one segment).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter().zip(&q).all(|(p, q)| {
            if p.starts_with('{') && p.ends_with('}') {
                !q.is_empty()
            } else {
                p == q
            }
        })
}

#[test]
fn every_path_builder_fills_its_route_pattern() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            CASE,
            case_path("1101202401000001"),
            "/api/v1/cases/1101202401000001",
        ),
        (
            CASE_DETAILS,
            case_details_path("1101202401000001"),
            "/api/v1/cases/1101202401000001/details",
        ),
        (
            FEE_NOTICE,
            fee_notice_path("2401000001"),
            "/api/v1/fee-notices/2401000001",
        ),
        (
            FEE_NOTICE_ORDERS,
            orders_path("2401000001"),
            "/api/v1/fee-notices/2401000001/orders",
        ),
        (ORDER, order_path("ord-1"), "/api/v1/orders/ord-1"),
        (
            ORDER_CANCEL,
            order_cancel_path("ord-1"),
            "/api/v1/orders/ord-1/cancel",
        ),
        (
            PROJECT,
            project_path("2401-110000-04-01-000001"),
            "/api/v1/projects/2401-110000-04-01-000001",
        ),
        (
            ORGANIZATION,
            organization_path("91110000600037341L"),
            "/api/v1/organizations/91110000600037341L",
        ),
        (
            SIM_ORDER_PAY,
            sim_pay_path("ord-1"),
            "/api/v1/sim/orders/ord-1/pay",
        ),
        (
            FLEET_COMMAND_ACK,
            fleet_ack_path("cmd-1"),
            "/api/v1/fleet/commands/cmd-1/ack",
        ),
        (
            FLEET_KIOSK,
            fleet_kiosk_path("k-1"),
            "/api/v1/fleet/kiosks/k-1",
        ),
    ];
    for (pattern, built, expected) in cases {
        assert_eq!(built, expected);
        assert!(matches(pattern, &built), "{built} does not match {pattern}");
        assert!(!built.contains('{'), "{built} left a parameter unfilled");
    }
    assert_eq!(fleet_poll_path(25), "/api/v1/fleet/commands?wait=25");
    assert!(fleet_poll_path(25).starts_with(FLEET_COMMANDS));
}

#[test]
fn every_route_is_a_versioned_api_path() {
    for p in [
        HEALTH,
        OPENAPI,
        ITEMS,
        PROJECT,
        ORGANIZATION,
        APPLICATIONS,
        APPLICATIONS_WITHDRAW,
        APPLICATION_BY_KEY,
        CASE,
        CASE_DETAILS,
        CASES_BY_APPLICANT,
        CASE_BY_REFERENCE,
        STAFF_ME,
        STAFF_CASE,
        STAFF_CASE_ACTIONS,
        FEE_NOTICE,
        FEE_NOTICE_ORDERS,
        ORDER,
        ORDER_CANCEL,
        SIM_ORDER_PAY,
        SIM_CALLBACK,
        FLEET_ENROL,
        FLEET_HEARTBEAT,
        FLEET_HELP,
        FLEET_COMMANDS,
        FLEET_COMMAND_ACK,
        FLEET_ME,
        FLEET_KIOSKS,
        FLEET_KIOSK,
        FLEET_KIOSK_HELP_CLEAR,
        FLEET_KIOSK_REVOKE,
        FLEET_KIOSK_APPLICATIONS,
        FLEET_ENROL_TOKENS,
    ] {
        assert!(p.starts_with("/api/v1/"), "{p}");
        assert_eq!(p.matches('{').count(), p.matches('}').count(), "{p}");
    }
}

#[test]
fn order_request_wire_shape() {
    let j = serde_json::to_value(OrderRequest::Qr).unwrap();
    assert_eq!(j, serde_json::json!({"method": "qr"}));
    let j = serde_json::to_value(OrderRequest::Scan {
        auth_code: "134567890123456789".into(),
    })
    .unwrap();
    assert_eq!(
        j,
        serde_json::json!({"method": "scan", "auth_code": "134567890123456789"})
    );
}

#[test]
fn material_status_wire_shape() {
    let j = serde_json::to_value(MaterialStatus::Tolerated).unwrap();
    assert_eq!(j, serde_json::json!("tolerated"));
    let node: Result<Node, _> = serde_json::from_value(serde_json::json!({
        "department": "住建", "status_code": 99, "status_text": "", "started_at": null,
        "due_date": null, "time_limit_days": 1, "overdue": false
    }));
    assert!(node.is_err(), "unknown BLZT codes are rejected");
}
