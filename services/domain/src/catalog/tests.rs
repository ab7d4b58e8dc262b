//! Given/when/then tests of the catalog decisions: prices, services, staff and the number pool.

use chrono::{DateTime, Utc};
use events::Aggregate;
use events::catalog::{NumberEvent, ServiceEvent, StaffEvent, WeeklySpec};
use uuid::Uuid;

use super::number::{self, NewPoolNumber, Number, NumberError, normalize_e164};
use super::service::{self, Service, ServiceError, ServiceInput};
use super::staff::{self, NewStaff, Staff, StaffError};
use super::{MoneyError, format_minor, parse_price};

fn now() -> DateTime<Utc> {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

fn given<A: Aggregate>(events: &[A::Event]) -> A {
    events.iter().fold(A::default(), A::evolve)
}

const BIZ: Uuid = Uuid::from_u128(1);
const OTHER_BIZ: Uuid = Uuid::from_u128(2);
const SVC: Uuid = Uuid::from_u128(10);

#[test]
fn prices_are_parsed_into_exact_minor_units() {
    assert_eq!(parse_price("35.00", "EUR"), Ok(3500));
    assert_eq!(parse_price("35", "EUR"), Ok(3500));
    assert_eq!(parse_price("35.5", "USD"), Ok(3550));
    assert_eq!(parse_price("0.01", "USD"), Ok(1));
    assert_eq!(parse_price("1500", "JPY"), Ok(1500));
    assert_eq!(format_minor(3550, "EUR"), "35.50");
    assert_eq!(format_minor(1500, "JPY"), "1500");
}

#[test]
fn a_price_with_three_decimals_or_a_sign_is_refused() {
    assert!(matches!(
        parse_price("35.001", "EUR"),
        Err(MoneyError::TooManyDecimals { allowed: 2, .. })
    ));
    assert!(matches!(
        parse_price("1500.5", "JPY"),
        Err(MoneyError::TooManyDecimals { allowed: 0, .. })
    ));
    for bad in ["-1.00", "+1", "1e3", "", ".5", "5.", "1,00", " 1"] {
        assert!(
            matches!(parse_price(bad, "EUR"), Err(MoneyError::NotADecimal(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        parse_price("99999999999999999999", "EUR"),
        Err(MoneyError::TooLarge(_))
    ));
}

fn haircut() -> ServiceInput {
    ServiceInput {
        name: Some("Haircut".into()),
        duration_minutes: Some(30),
        price: Some("35.00".into()),
        ..ServiceInput::default()
    }
}

#[test]
fn adding_a_service_records_its_settings_with_defaults() {
    let events = service::add(SVC, BIZ, "EUR", &haircut(), now()).unwrap();
    let [ServiceEvent::ServiceAdded { settings, .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(settings.price_minor, 3500);
    assert_eq!(settings.currency, "EUR");
    assert_eq!(settings.horizon_days, 60);
    assert!(settings.voice_booking_enabled);
    assert_eq!(settings.slot_step_minutes, None);
}

#[test]
fn a_negative_duration_is_refused() {
    let input = ServiceInput {
        duration_minutes: Some(-30),
        ..haircut()
    };
    assert!(matches!(
        service::add(SVC, BIZ, "EUR", &input, now()),
        Err(ServiceError::OutOfRange {
            field: "duration_minutes",
            ..
        })
    ));
}

#[test]
fn updating_a_service_keeps_unchanged_fields_and_records_nothing_when_nothing_changes() {
    let state: Service = given(&service::add(SVC, BIZ, "EUR", &haircut(), now()).unwrap());
    let events = service::update(
        &state,
        &ServiceInput {
            price: Some("40".into()),
            ..ServiceInput::default()
        },
        now(),
    )
    .unwrap();
    let [ServiceEvent::ServiceUpdated { settings, .. }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (settings.price_minor, settings.duration_minutes),
        (4000, 30)
    );
    assert!(
        service::update(&state, &haircut(), now())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_retired_service_cannot_be_updated_and_retiring_twice_is_a_no_op() {
    let mut events = service::add(SVC, BIZ, "EUR", &haircut(), now()).unwrap();
    let state: Service = given(&events);
    events.extend(service::retire(&state, now()).unwrap());
    let retired: Service = given(&events);
    assert!(!retired.is_live_in(BIZ));
    assert_eq!(
        service::update(&retired, &haircut(), now()),
        Err(ServiceError::NotFound)
    );
    assert!(service::retire(&retired, now()).unwrap().is_empty());
}

fn weekly(pairs: &[(&str, &[(&str, &str)])]) -> WeeklySpec {
    pairs
        .iter()
        .map(|(day, intervals)| {
            (
                (*day).to_owned(),
                intervals
                    .iter()
                    .map(|(a, b)| [(*a).to_owned(), (*b).to_owned()])
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn staff_are_added_with_their_own_hours_and_known_services_only() {
    let input = NewStaff {
        name: "Ana".into(),
        service_ids: vec![SVC, SVC],
        weekly: Some(weekly(&[("mon", &[("10:00", "14:00")])])),
        ..NewStaff::default()
    };
    let staff_id = Uuid::from_u128(20);
    let events = staff::add(staff_id, BIZ, &input, |id| id == SVC, now()).unwrap();
    assert!(matches!(events[0], StaffEvent::StaffAdded { .. }));
    assert!(
        matches!(&events[1], StaffEvent::StaffScheduleSet { weekly: Some(w), .. } if w["mon"].len() == 1 && w["tue"].is_empty())
    );
    assert!(
        matches!(&events[2], StaffEvent::StaffServicesAssigned { service_ids, .. } if service_ids == &[SVC])
    );
    assert_eq!(
        staff::add(staff_id, BIZ, &input, |_| false, now()),
        Err(StaffError::UnknownService(SVC))
    );
}

#[test]
fn staff_hours_that_overlap_are_refused() {
    let input = NewStaff {
        name: "Ana".into(),
        weekly: Some(weekly(&[(
            "mon",
            &[("10:00", "14:00"), ("13:00", "15:00")],
        )])),
        ..NewStaff::default()
    };
    assert!(matches!(
        staff::add(Uuid::from_u128(20), BIZ, &input, |_| true, now()),
        Err(StaffError::Hours(_))
    ));
}

#[test]
fn a_removed_staff_member_is_no_longer_live() {
    let input = NewStaff {
        name: "Ana".into(),
        ..NewStaff::default()
    };
    let mut events = staff::add(Uuid::from_u128(20), BIZ, &input, |_| true, now()).unwrap();
    events.extend(staff::remove(&given::<Staff>(&events), now()).unwrap());
    let state: Staff = given(&events);
    assert!(!state.is_live_in(BIZ));
    assert_eq!(
        staff::change(&state, None, Some(&[]), |_| true, now()),
        Err(StaffError::NotFound)
    );
}

fn pooled() -> Vec<NumberEvent> {
    number::add_to_pool(
        &Number::default(),
        &NewPoolNumber {
            number: "+1 (415) 555-0123".into(),
            provider_phone_number_id: "vapi-1".into(),
            locality: "San Francisco".into(),
            region: "CA".into(),
            ..NewPoolNumber::default()
        },
        now(),
    )
    .unwrap()
}

#[test]
fn a_pool_number_is_normalized_and_searchable_by_its_area_code() {
    let events = pooled();
    assert!(
        matches!(&events[0], NumberEvent::NumberAddedToPool { number, area_code, .. } if number == "+14155550123" && area_code == "415")
    );
    assert!(normalize_e164("4155550123").is_err());
    assert!(normalize_e164("+1-415-CALL-NOW").is_err());
}

#[test]
fn an_assigned_number_cannot_be_claimed_by_another_business() {
    let mut events = pooled();
    events.extend(number::assign(&given(&events), BIZ, false, now()).unwrap());
    let state: Number = given(&events);
    assert_eq!(
        number::assign(&state, OTHER_BIZ, false, now()),
        Err(NumberError::NotAvailable)
    );
    assert!(number::assign(&state, BIZ, true, now()).unwrap().is_empty());
    assert_eq!(
        number::release(&state, OTHER_BIZ, now()),
        Err(NumberError::NotAssignedToBusiness)
    );
}

#[test]
fn a_business_holds_one_number_and_a_released_number_returns_to_the_pool() {
    let mut events = pooled();
    assert_eq!(
        number::assign(&given(&events), BIZ, true, now()),
        Err(NumberError::BusinessHasNumber)
    );
    events.extend(number::assign(&given(&events), BIZ, false, now()).unwrap());
    events.extend(number::release(&given(&events), BIZ, now()).unwrap());
    assert_eq!(
        number::assign(&given(&events), OTHER_BIZ, false, now())
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_suspended_number_cannot_be_claimed() {
    let mut events = pooled();
    events.extend(number::suspend(&given(&events), "fraud", now()).unwrap());
    assert_eq!(
        number::assign(&given(&events), BIZ, false, now()),
        Err(NumberError::NotAvailable)
    );
}
