//! A simulated month of billing history, written as real events into the event store: businesses registered
//! the month before, a mid-month plan change, phone numbers held part of the month, calls (some starting in
//! the last minutes of the month, so they end in the next) and bookings. Seeded, so a run can be repeated.
//! Used by the billing tests, the end-to-end finance test and `voiceappoint bench replay`.

use chrono::TimeDelta;
use domain::billing::Period;
use events::billing::booking_usage_stream;
use events::call::{UsageEvent, usage_stream};
use events::catalog::{BusinessEvent, NumberEvent};
use events::{Metadata, NewEvent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use store::{EventStore, ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Simulation {
    pub businesses: usize,
    /// Calls across all businesses; about a third also book.
    pub calls: usize,
    pub period: Period,
    pub seed: u64,
    /// Usage streams written per transaction.
    pub batch: usize,
}

/// A simulated business.
#[derive(Debug, Clone)]
pub struct SimBusiness {
    pub id: Uuid,
    pub slug: String,
}

fn event<E: serde::Serialize>(tenant: Uuid, event: &E) -> Result<NewEvent, StoreError> {
    Ok(NewEvent::tagged(Some(tenant), event, Metadata::default())?)
}

/// Writes the businesses (registration, plans, numbers); returns them.
pub async fn businesses(
    store: &EventStore,
    sim: &Simulation,
) -> Result<Vec<SimBusiness>, StoreError> {
    let mut rng = StdRng::seed_from_u64(sim.seed);
    let registered = sim.period.start() - TimeDelta::days(40);
    let mut out = Vec::new();
    for i in 0..sim.businesses {
        let id = Uuid::from_u64_pair(sim.seed, i as u64);
        let slug = format!("sim-{}-{i}", sim.seed);
        let mut business = vec![event(
            id,
            &BusinessEvent::BusinessRegistered {
                business_id: id,
                slug: slug.clone(),
                name: format!("Simulated business {i}"),
                business_type: "salon".into(),
                timezone: "Europe/Madrid".into(),
                locale: "en".into(),
                currency: "EUR".into(),
                registered_by: Uuid::nil(),
                occurred_at: registered,
            },
        )?];
        // A third change plan in the middle of the month, a third are on scale all month.
        let change = match i % 3 {
            1 => Some(("growth", sim.period.first_day() + TimeDelta::days(14))),
            2 => Some(("scale", sim.period.first_day())),
            _ => None,
        };
        if let Some((plan, effective_from)) = change {
            business.push(event(
                id,
                &BusinessEvent::PlanAssigned {
                    business_id: id,
                    plan: plan.into(),
                    effective_from,
                    assigned_by: Uuid::nil(),
                    occurred_at: registered,
                },
            )?);
        }
        let mut batches = vec![StreamAppend::new(
            format!("business-{id}").as_str(),
            ExpectedVersion::NoStream,
            business,
        )];
        if i % 4 == 0 {
            let number = format!("+1555{:07}", rng.random_range(0..10_000_000_u32));
            let at = |day: i64| sim.period.start() + TimeDelta::days(day) + TimeDelta::hours(9);
            batches.push(StreamAppend::new(
                format!("number-{number}-{i}").as_str(),
                ExpectedVersion::NoStream,
                vec![
                    event(
                        id,
                        &NumberEvent::NumberAssigned {
                            number: number.clone(),
                            business_id: id,
                            occurred_at: at(4),
                        },
                    )?,
                    event(
                        id,
                        &NumberEvent::NumberReleased {
                            number,
                            business_id: id,
                            occurred_at: at(19),
                        },
                    )?,
                ],
            ));
        }
        store.append_many(batches, None).await?;
        out.push(SimBusiness { id, slug });
    }
    Ok(out)
}

/// Writes `sim.calls` calls' usage (and their bookings') for `businesses`, `sim.batch` streams per transaction;
/// `progress` gets the number of usage events written so far.
pub async fn calls(
    store: &EventStore,
    sim: &Simulation,
    businesses: &[SimBusiness],
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    let mut rng = StdRng::seed_from_u64(sim.seed ^ 0x5eed);
    let seconds_in_period = (sim.period.end() - sim.period.start()).num_seconds();
    let mut written = 0_u64;
    let mut batches = Vec::with_capacity(sim.batch);
    for n in 0..sim.calls {
        let business = &businesses[n % businesses.len()];
        // One call in a hundred starts in the last ten minutes of the month and ends in the next.
        let offset = if n % 100 == 0 {
            seconds_in_period - rng.random_range(1..600)
        } else {
            rng.random_range(0..seconds_in_period)
        };
        let usage_at = sim.period.start() + TimeDelta::seconds(offset);
        let seconds = rng.random_range(5..900_i64);
        let call_id = format!("sim-{}-{n}", sim.seed);
        let ended = usage_at + TimeDelta::seconds(seconds);
        batches.push(StreamAppend::new(
            usage_stream(&call_id).as_str(),
            ExpectedVersion::NoStream,
            vec![event(
                business.id,
                &UsageEvent::UsageRecorded {
                    business_id: business.id,
                    call_id: Some(call_id),
                    kind: "voice_seconds".into(),
                    quantity: seconds,
                    provider_cost_micros: seconds * rng.random_range(900..1_400),
                    usage_at,
                    occurred_at: ended,
                },
            )?],
        ));
        written += 1;
        if n % 3 == 0 {
            batches.push(StreamAppend::new(
                booking_usage_stream(Uuid::from_u64_pair(sim.seed ^ 0xb00c, n as u64)).as_str(),
                ExpectedVersion::NoStream,
                vec![event(
                    business.id,
                    &UsageEvent::UsageRecorded {
                        business_id: business.id,
                        call_id: None,
                        kind: "booking".into(),
                        quantity: 1,
                        provider_cost_micros: 0,
                        usage_at: ended,
                        occurred_at: ended,
                    },
                )?],
            ));
            written += 1;
        }
        if batches.len() >= sim.batch.max(1) {
            store
                .append_many(std::mem::take(&mut batches), None)
                .await?;
            progress(written);
        }
    }
    if !batches.is_empty() {
        store.append_many(batches, None).await?;
    }
    progress(written);
    Ok(written)
}

/// A late usage event: a call of `period` whose report arrives after the month was closed.
pub async fn late_call(
    store: &EventStore,
    business: &SimBusiness,
    period: Period,
) -> Result<(), StoreError> {
    let usage_at = period.end() - TimeDelta::minutes(30);
    let call_id = format!("late-{}", Uuid::now_v7());
    store
        .append(
            &usage_stream(&call_id),
            ExpectedVersion::NoStream,
            vec![event(
                business.id,
                &UsageEvent::UsageRecorded {
                    business_id: business.id,
                    call_id: Some(call_id.clone()),
                    kind: "voice_seconds".into(),
                    quantity: 600,
                    provider_cost_micros: 600_000,
                    usage_at,
                    occurred_at: usage_at + TimeDelta::days(2),
                },
            )?],
        )
        .await?;
    Ok(())
}
