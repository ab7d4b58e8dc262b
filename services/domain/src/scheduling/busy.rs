//! Blocking intervals (appointments, live holds, time off) indexed for O(log n) overlap queries (§7 rule 5).

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
    /// The interval as it blocks: `[start − before, end + after)` (saturating at chrono's limits).
    pub fn widened(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.start
                .checked_sub_signed(minutes(self.buffer_before_minutes))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            self.end
                .checked_add_signed(minutes(self.buffer_after_minutes))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

/// `minutes` as a duration.
pub(crate) fn minutes(minutes: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(minutes))
}

/// Unix seconds; the hot path compares plain integers instead of `DateTime`s.
pub(crate) type Seconds = i64;

/// A set of half-open intervals (in unix seconds) answering "does `[a, b)` overlap any of them?" by binary
/// search: sorted by start with a running maximum of ends, the intervals that start before `b` are a prefix,
/// and one of them reaches past `a` exactly when the prefix's maximum end does.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    starts: Vec<Seconds>,
    max_ends: Vec<Seconds>,
}

impl Blocks {
    fn build(mut intervals: Vec<(Seconds, Seconds)>) -> Self {
        intervals.retain(|(start, end)| start < end);
        intervals.sort_unstable();
        let mut max_ends = Vec::with_capacity(intervals.len());
        let mut running = Seconds::MIN;
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
    pub(crate) fn overlaps(&self, start: Seconds, end: Seconds) -> bool {
        let before_end = self
            .starts
            .partition_point(|block_start| *block_start < end);
        before_end > 0 && self.max_ends[before_end - 1] > start
    }
}

/// `[start − before, end + after)` of a busy interval in unix seconds.
fn widened_seconds(interval: &BusyInterval) -> (Seconds, Seconds) {
    (
        interval.start.timestamp() - i64::from(interval.buffer_before_minutes) * 60,
        interval.end.timestamp() + i64::from(interval.buffer_after_minutes) * 60,
    )
}

/// Blocking intervals split by what they block.
#[derive(Debug, Default)]
pub(crate) struct BusyIndex {
    /// Blocks every resource (business-wide intervals; in business mode, every interval).
    pub(crate) everyone: Blocks,
    /// Parallel to the sorted staff ids the index was built for.
    per_staff: Vec<Blocks>,
}

impl BusyIndex {
    /// For a business without staff: the business is the only resource, so everything blocks it.
    pub(crate) fn for_business(busy: &[BusyInterval]) -> Self {
        Self {
            everyone: Blocks::build(busy.iter().map(widened_seconds).collect()),
            per_staff: Vec::new(),
        }
    }

    /// For staff (`sorted_staff` ascending): business-wide intervals block everyone, the rest only their
    /// own staff member; intervals of anyone else cannot matter and are dropped.
    pub(crate) fn for_staff(busy: &[BusyInterval], sorted_staff: &[Uuid]) -> Self {
        let mut everyone = Vec::new();
        let mut per_staff: Vec<Vec<(Seconds, Seconds)>> = vec![Vec::new(); sorted_staff.len()];
        for interval in busy {
            match interval.resource {
                None => everyone.push(widened_seconds(interval)),
                Some(staff_id) => {
                    if let Ok(index) = sorted_staff.binary_search(&staff_id) {
                        per_staff[index].push(widened_seconds(interval));
                    }
                }
            }
        }
        Self {
            everyone: Blocks::build(everyone),
            per_staff: per_staff.into_iter().map(Blocks::build).collect(),
        }
    }

    /// Whether the own intervals of the staff member at `index` overlap `[start, end)`.
    pub(crate) fn staff_overlaps(&self, index: usize, start: Seconds, end: Seconds) -> bool {
        self.per_staff
            .get(index)
            .is_some_and(|blocks| blocks.overlaps(start, end))
    }
}
