//! Upcasting: stored `(event_type, schema_version, data)` → the current shape of that event.
//!
//! Readers run every stored payload through [`Upcasters::upcast`] before decoding, so decision and
//! projection code only ever sees current shapes. An upcaster moves one version up; they chain.

use std::collections::HashMap;

/// Turns a payload of `from_version` into the payload of `from_version + 1`.
pub type Upcaster = fn(serde_json::Value) -> serde_json::Value;

/// The registry of upcasters, keyed by `(event_type, from_version)`.
#[derive(Default, Clone)]
pub struct Upcasters {
    steps: HashMap<(String, i32), Upcaster>,
}

impl Upcasters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the step from `from_version` to `from_version + 1` for `event_type`.
    #[must_use]
    pub fn with(mut self, event_type: &str, from_version: i32, step: Upcaster) -> Self {
        self.steps
            .insert((event_type.to_owned(), from_version), step);
        self
    }

    /// Applies every registered step from `schema_version` on; returns the payload and its new version.
    pub fn upcast(
        &self,
        event_type: &str,
        mut schema_version: i32,
        mut data: serde_json::Value,
    ) -> (i32, serde_json::Value) {
        // The common case on the hot feed path: nothing registered, no allocation.
        if self.steps.is_empty() {
            return (schema_version, data);
        }
        while let Some(step) = self.steps.get(&(event_type.to_owned(), schema_version)) {
            data = step(data);
            schema_version += 1;
        }
        (schema_version, data)
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether any step is registered for `event_type`.
    pub fn has_steps_for(&self, event_type: &str) -> bool {
        !self.steps.is_empty() && self.steps.keys().any(|(t, _)| t == event_type)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v1_to_v2(mut data: serde_json::Value) -> serde_json::Value {
        if let Some(name) = data.get("name").cloned() {
            data["display_name"] = name;
        }
        data
    }

    fn v2_to_v3(mut data: serde_json::Value) -> serde_json::Value {
        data["locale"] = json!("en");
        data
    }

    #[test]
    fn an_old_payload_is_upcast_through_every_step_to_the_current_shape() {
        let up = Upcasters::new()
            .with("BusinessRegistered", 1, v1_to_v2)
            .with("BusinessRegistered", 2, v2_to_v3);
        let (version, data) = up.upcast("BusinessRegistered", 1, json!({"name": "Salon"}));
        assert_eq!(version, 3);
        assert_eq!(
            data,
            json!({"name": "Salon", "display_name": "Salon", "locale": "en"})
        );
    }

    #[test]
    fn a_current_payload_passes_through_unchanged() {
        let up = Upcasters::new().with("BusinessRegistered", 1, v1_to_v2);
        let (version, data) = up.upcast("BusinessRegistered", 2, json!({"x": 1}));
        assert_eq!((version, data), (2, json!({"x": 1})));
    }
}
