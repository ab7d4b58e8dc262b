//! Given/when/then tests of the tenancy decisions: registration, profile, hours, members, agent, slugs.

use chrono::{DateTime, NaiveDate, Utc};
use events::Aggregate;
use events::catalog::{AgentSettings, BusinessEvent, OverridesSpec, Role, WeeklySpec};
use uuid::Uuid;

use super::business::{self, Business, BusinessError, ProfileInput, RegisterBusiness};
use super::{Permission, allows, slug_candidate, slugify, user};
use crate::catalog::HoursSpecError;
use crate::scheduling::HoursError;

fn now() -> DateTime<Utc> {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

const BIZ: Uuid = Uuid::from_u128(1);
const OWNER: Uuid = Uuid::from_u128(100);
const ALICE: Uuid = Uuid::from_u128(101);

fn given(events: &[BusinessEvent]) -> Business {
    events.iter().fold(Business::default(), Business::evolve)
}

fn registration(timezone: &str) -> RegisterBusiness {
    RegisterBusiness {
        business_id: BIZ,
        slug: "salon-ana".into(),
        owner_id: OWNER,
        owner_email: "owner@example.com".into(),
        profile: ProfileInput {
            name: Some("Salón Ana".into()),
            business_type: Some("Salon".into()),
            timezone: Some(timezone.into()),
            currency: Some("eur".into()),
            ..ProfileInput::default()
        },
    }
}

fn registered() -> Vec<BusinessEvent> {
    business::register(&Business::default(), &registration("Europe/Madrid"), now()).unwrap()
}

#[test]
fn registering_a_business_makes_the_registrant_its_owner() {
    let events = registered();
    assert!(matches!(
        &events[0],
        BusinessEvent::BusinessRegistered { business_type, currency, locale, .. }
            if business_type == "salon" && currency == "EUR" && locale == "en"
    ));
    let state = given(&events);
    assert_eq!(state.role_of(OWNER), Some(Role::Owner));
    assert!(state.voice_booking_enabled);
}

#[test]
fn an_unknown_time_zone_is_refused() {
    assert_eq!(
        business::register(&Business::default(), &registration("Mars/Olympus"), now()),
        Err(BusinessError::UnknownTimezone("Mars/Olympus".into()))
    );
}

#[test]
fn a_profile_update_records_only_what_changed() {
    let state = given(&registered());
    let same = ProfileInput {
        name: Some("Salón Ana".into()),
        ..ProfileInput::default()
    };
    assert!(
        business::update_profile(&state, &same, Some(true), now())
            .unwrap()
            .is_empty()
    );
    let events = business::update_profile(
        &state,
        &ProfileInput {
            name: Some("Ana's".into()),
            ..ProfileInput::default()
        },
        Some(false),
        now(),
    )
    .unwrap();
    assert!(
        matches!(&events[0], BusinessEvent::BusinessProfileUpdated { name, timezone, .. } if name == "Ana's" && timezone == "Europe/Madrid")
    );
    assert!(matches!(
        events[1],
        BusinessEvent::VoiceBookingToggled { enabled: false, .. }
    ));
}

fn spec(pairs: &[(&str, &[(&str, &str)])]) -> WeeklySpec {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                v.iter()
                    .map(|(a, b)| [(*a).to_owned(), (*b).to_owned()])
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn setting_hours_records_the_week_and_each_changed_override() {
    let state = given(&registered());
    let weekly = spec(&[("monday", &[("14:00", "18:00"), ("09:00", "13:00")])]);
    let overrides: OverridesSpec = spec(&[("2027-12-25", &[])]);
    let events = business::set_hours(&state, &weekly, &overrides, now()).unwrap();
    assert!(matches!(
        &events[0],
        BusinessEvent::BusinessHoursSet { weekly, .. }
            if weekly["mon"] == vec![["09:00".to_owned(), "13:00".to_owned()], ["14:00".to_owned(), "18:00".to_owned()]]
                && weekly["sun"].is_empty()
    ));
    let christmas = NaiveDate::from_ymd_opt(2027, 12, 25).unwrap();
    assert!(matches!(
        &events[1],
        BusinessEvent::DateOverrideSet { date, intervals: Some(i), .. } if *date == christmas && i.is_empty()
    ));
    // The same hours again change nothing; dropping the override removes it.
    let mut all = registered();
    all.extend(events);
    let state = given(&all);
    assert!(
        business::set_hours(&state, &weekly, &overrides, now())
            .unwrap()
            .is_empty()
    );
    let events = business::set_hours(&state, &weekly, &OverridesSpec::new(), now()).unwrap();
    assert!(matches!(
        &events[..],
        [BusinessEvent::DateOverrideSet {
            intervals: None,
            ..
        }]
    ));
}

#[test]
fn hours_that_close_before_they_open_or_overlap_are_refused() {
    let state = given(&registered());
    let none = OverridesSpec::new();
    assert!(matches!(
        business::set_hours(
            &state,
            &spec(&[("mon", &[("17:00", "09:00")])]),
            &none,
            now()
        ),
        Err(BusinessError::Hours(HoursSpecError::Hours(
            HoursError::CloseNotAfterOpen { .. }
        )))
    ));
    assert!(matches!(
        business::set_hours(
            &state,
            &spec(&[("mon", &[("09:00", "13:00"), ("12:00", "18:00")])]),
            &none,
            now()
        ),
        Err(BusinessError::Hours(HoursSpecError::Hours(
            HoursError::Overlapping { .. }
        )))
    ));
    assert!(matches!(
        business::set_hours(&state, &spec(&[]), &spec(&[("25/12", &[])]), now()),
        Err(BusinessError::Hours(HoursSpecError::BadDate(_)))
    ));
}

#[test]
fn only_an_owner_grants_the_owner_role_and_the_last_owner_stays() {
    let mut events = registered();
    let state = given(&events);
    assert_eq!(
        business::add_member(&state, Role::Admin, ALICE, "a@x.io", Role::Owner, now()),
        Err(BusinessError::OwnerOnly)
    );
    events.extend(
        business::add_member(&state, Role::Admin, ALICE, "a@x.io", Role::Viewer, now()).unwrap(),
    );
    let state = given(&events);
    assert_eq!(
        business::add_member(&state, Role::Owner, ALICE, "a@x.io", Role::Staff, now()),
        Err(BusinessError::AlreadyMember)
    );
    assert_eq!(
        business::remove_member(&state, Role::Owner, OWNER, now()),
        Err(BusinessError::LastOwner)
    );
    assert_eq!(
        business::change_member_role(&state, Role::Owner, OWNER, Role::Admin, now()),
        Err(BusinessError::LastOwner)
    );
    events.extend(
        business::change_member_role(&state, Role::Owner, ALICE, Role::Manager, now()).unwrap(),
    );
    events.extend(business::remove_member(&given(&events), Role::Admin, ALICE, now()).unwrap());
    assert_eq!(given(&events).role_of(ALICE), None);
}

#[test]
fn the_agent_needs_a_name_and_a_greeting() {
    let state = given(&registered());
    let agent = AgentSettings {
        name: "Sarah".into(),
        greeting: "Hello, Salón Ana, how can I help?".into(),
        voice_id: None,
        personality: Some("friendly".into()),
        instructions: None,
    };
    assert_eq!(
        business::configure_agent(&state, &agent, now())
            .unwrap()
            .len(),
        1
    );
    let silent = AgentSettings {
        greeting: "  ".into(),
        ..agent
    };
    assert_eq!(
        business::configure_agent(&state, &silent, now()),
        Err(BusinessError::BadAgentField("greeting", 1000))
    );
}

#[test]
fn the_role_matrix_keeps_viewers_and_staff_read_only() {
    assert!(allows(Role::Viewer, Permission::View));
    assert!(!allows(Role::Viewer, Permission::ManageCatalog));
    assert!(!allows(Role::Staff, Permission::ManageCatalog));
    assert!(allows(Role::Manager, Permission::ManageCatalog));
    assert!(!allows(Role::Manager, Permission::ManageMembers));
    assert!(allows(Role::Admin, Permission::ManageBusiness));
}

#[test]
fn slugs_are_ascii_words_and_candidates_count_up() {
    assert_eq!(
        slugify("Salón Ana & Co. — Downtown"),
        "salon-ana-and-co-downtown"
    );
    assert_eq!(slugify("!!!"), "business");
    assert_eq!(slug_candidate("salon", 1), "salon");
    assert_eq!(slug_candidate("salon", 3), "salon-3");
}

#[test]
fn emails_are_normalized_and_short_passwords_refused() {
    assert_eq!(
        user::normalize_email("  Ana@Example.COM "),
        Ok("ana@example.com".into())
    );
    assert!(user::normalize_email("ana@localhost").is_err());
    assert!(user::normalize_email("a b@x.io").is_err());
    assert_eq!(
        user::validate_password("short"),
        Err(user::UserError::WeakPassword)
    );
}
