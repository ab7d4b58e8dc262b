//! Blocking intervals (appointments, live holds, time off) indexed for O(log n) overlap queries (§7 rule 5).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Something that blocks a resource: a confirmed appointment, a live hold or time off. Half-open
/// `[start, end)`, widened by its own buffers before it is compared with a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyInterval {
    /// The staff member it blocks; `None` blocks the whole business (every staff member).
    pub resource: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
}

impl BusyInterval {
    /// The interval as it blocks: `[start − before, end + after)`.
    pub fn widened(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.start - minutes(self.buffer_before_minutes),
            self.end + minutes(self.buffer_after_minutes),
        )
    }
}

/// `minutes` as a duration.
pub(crate) fn minutes(minutes: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(minutes))
}

/// A set of half-open intervals answering "does `[a, b)` overlap any of them?" by binary search.
///
/// Sorted by start with a running maximum of ends: the intervals that start before `b` are a prefix, and one
/// of them reaches past `a` exactly when the prefix's maximum end does.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    starts: Vec<DateTime<Utc>>,
    max_ends: Vec<DateTime<Utc>>,
}

impl Blocks {
    fn build(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Self {
        intervals.retain(|(start, end)| start < end);
        intervals.sort_unstable();
        let mut max_ends = Vec::with_capacity(intervals.len());
        let mut running = DateTime::<Utc>::MIN_UTC;
        for (_, end) in &intervals {
            running = running.max(*end);
            max_ends.push(running);
        }
        Self {
            starts: intervals.into_iter().map(|(start, _)| start).collect(),
            max_ends,
        }
    }

    /// Whether `[start, end)` overlaps any interval of the set.
    pub(crate) fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let before_end = self
            .starts
            .partition_point(|block_start| *block_start < end);
        before_end > 0 && self.max_ends[before_end - 1] > start
    }
}

/// Blocking intervals split by what they block.
#[derive(Debug, Default)]
pub(crate) struct BusyIndex {
    /// Blocks every resource (business-wide intervals; in business mode, every interval).
    pub(crate) everyone: Blocks,
    per_staff: HashMap<Uuid, Blocks>,
}

impl BusyIndex {
    /// For a business without staff: the business is the only resource, so everything blocks it.
    pub(crate) fn for_business(busy: &[BusyInterval]) -> Self {
        Self {
            everyone: Blocks::build(busy.iter().map(BusyInterval::widened).collect()),
            per_staff: HashMap::new(),
        }
    }

    /// For staff: business-wide intervals block everyone, the rest only their own staff member.
    pub(crate) fn for_staff(busy: &[BusyInterval]) -> Self {
        let mut everyone = Vec::new();
        let mut per_staff: HashMap<Uuid, Vec<_>> = HashMap::new();
        for interval in busy {
            match interval.resource {
                None => everyone.push(interval.widened()),
                Some(staff_id) => per_staff
                    .entry(staff_id)
                    .or_default()
                    .push(interval.widened()),
            }
        }
        Self {
            everyone: Blocks::build(everyone),
            per_staff: per_staff
                .into_iter()
                .map(|(id, intervals)| (id, Blocks::build(intervals)))
                .collect(),
        }
    }

    /// Whether `staff_id`'s own intervals overlap `[start, end)` (business-wide ones are checked separately).
    pub(crate) fn staff_overlaps(
        &self,
        staff_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> bool {
        self.per_staff
            .get(&staff_id)
            .is_some_and(|blocks| blocks.overlaps(start, end))
    }
}
