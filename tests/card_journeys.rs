//! The ID card in the lookup journey, end to end through the UI (see `journeys.rs`): the details
//! of a case only for the applicant's own card, and one's own cases listed for the card.

use std::time::Duration;

use hall_kiosk::session::view;
use hall_kiosk::session::{Busy, Screen, TakeReminder};
use hall_platform::demo;

#[path = "support/hall.rs"]
mod hall;
use hall::*;

#[test]
fn lookup_shows_details_only_to_the_applicants_card() {
    let h = hall();
    // A reader that finds a card it has read again, so it can tell that the card stays.
    h.ctl()
        .set_reader_refinds_read_card(true)
        .expect("reader set");
    h.press("查询进度");
    h.look_up(demo::CASE_CORRECTIONS);
    h.wait_screen(Screen::Progress);
    // Anyone with the code: the status, and how to see more.
    assert!(h.shows("把身份证放在读卡区，查看本人申请的详细信息"));
    assert!(!h.vm().lookup.nodes.is_empty());
    assert!(!h.shows_containing(demo::PROJECT_NAME));
    assert!(
        !h.shows_containing("总平面图"),
        "no opinion without the card"
    );
    assert!(!h.shows("张**"));

    // Someone else's card: refused kindly, nothing more shown.
    let mut other = kiosk_drivers::sim::SimCard::demo();
    let body = "11010519491231002";
    let check = hall_domain::codes::id_check_char(body).expect("check digit");
    other.name = "李四".into();
    other.number = format!("{body}{check}");
    h.ctl().place_card(other).expect("card placed");
    h.wait("the card checked", |vm| {
        vm.lookup.case_card == view::CaseCard::NotApplicant
    });
    assert!(h.shows("这张身份证不是这件申请的申请人"));
    assert!(!h.shows_containing(demo::PROJECT_NAME));
    assert!(!h.shows_containing("总平面图"));
    assert!(
        !h.shows_containing("李"),
        "the other card's holder is not shown either"
    );
    assert_eq!(h.vm().chrome.screen, Screen::Progress, "the status stays");
    h.ctl().remove_card().expect("card removed");
    pump_for(&h, Duration::from_millis(700));

    // The applicant's own card: the details.
    h.ctl()
        .place_card(kiosk_drivers::sim::SimCard::demo())
        .expect("card placed");
    h.wait("the details", |vm| {
        vm.lookup.case_card == view::CaseCard::Shown
    });
    assert!(h.shows("已核对：您是这件申请的申请人"));
    assert!(h.shows_containing(demo::PROJECT_NAME));
    assert!(
        h.shows_containing("总平面图"),
        "the opinion: what to correct"
    );
    assert!(h.shows("张**"));
    assert!(!h.shows_containing(demo::APPLICANT_NAME));
    assert!(!h.shows_containing(demo::APPLICANT_ID));

    // Finishing with the card still on the reader: the rating (skipped), then the reminder,
    // until the card is taken.
    h.press("结束办理");
    assert_eq!(h.vm().chrome.screen, Screen::Rating);
    h.press("跳过");
    assert_eq!(h.vm().chrome.screen, Screen::Home);
    assert_eq!(h.vm().overlays.take_reminder, TakeReminder::Card);
    assert!(h.shows("请取走您的身份证"));
    assert!(!h.shows_containing(demo::PROJECT_NAME));
    pump_for(&h, Duration::from_millis(300));
    assert_eq!(
        h.vm().overlays.take_reminder,
        TakeReminder::Card,
        "the card is still there"
    );
    h.ctl().remove_card().expect("card removed");
    h.wait("the card taken", |vm| {
        vm.overlays.take_reminder == TakeReminder::None
    });
    assert!(!h.shows("请取走您的身份证"));
}

#[test]
fn the_id_card_lists_ones_own_cases_without_typing() {
    let h = hall();
    h.press("查询进度");
    assert!(h.shows("没有审批码？把身份证放在读卡区，可以列出您本人的申请"));
    h.ctl()
        .place_card(kiosk_drivers::sim::SimCard::demo())
        .expect("card placed");
    h.wait("the list", |vm| {
        vm.lookup.my_cases_state == view::MyCasesState::Listed && vm.overlays.busy == Busy::None
    });
    let mine = h.vm().lookup.my_cases;
    assert!(mine.len() >= 4, "the demo applicant's cases");
    assert!(h.shows("您本人的申请：点一下查看"));
    assert!(
        !h.shows_containing(demo::PROJECT_NAME),
        "status only in the list"
    );
    h.press(&mine[0].item);
    h.wait("the details", |vm| {
        vm.chrome.screen == Screen::Progress && vm.lookup.case_card == view::CaseCard::Shown
    });
    assert_eq!(h.vm().lookup.case_code_grouped, mine[0].code_grouped);
    assert!(h.shows_containing(demo::PROJECT_NAME));
    assert!(!h.shows_containing(demo::APPLICANT_NAME));
}
