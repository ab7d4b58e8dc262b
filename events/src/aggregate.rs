//! Folding a stream into the state a decision needs: `evolve(state, event) -> state`, total.

use serde::de::DeserializeOwned;

/// State rebuilt from one stream's events. `evolve` never fails: events are facts.
pub trait Aggregate: Default {
    /// The stream's event enum (serde `tag = "type"`-less: decoded from `event_type` + `data`).
    type Event: DeserializeOwned;
    #[must_use]
    fn evolve(self, event: &Self::Event) -> Self;
}

/// Decodes a stored `(event_type, data)` pair into a stream's event enum, which must be
/// `#[serde(tag = "type", content = "data")]`.
pub fn decode_tagged<E: DeserializeOwned>(
    event_type: &str,
    data: &serde_json::Value,
) -> Result<E, serde_json::Error> {
    // Deserialized from a map over the borrowed payload: building `{"type", "data"}` as a new `Value`
    // would deep-copy every payload (once per event and projector).
    let tag = serde_json::Value::String(event_type.to_owned());
    let entries = [("type", &tag), ("data", data)];
    E::deserialize(serde::de::value::MapDeserializer::new(entries.into_iter()))
}

/// Splits an event enum serialized as `{"type": …, "data": …}` into `(event_type, data)`.
pub fn encode_tagged<E: serde::Serialize>(
    event: &E,
) -> Result<(String, serde_json::Value), serde_json::Error> {
    let mut value = serde_json::to_value(event)?;
    let event_type = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| serde::ser::Error::custom("event enums must use tag = \"type\""))?;
    let data = value
        .get_mut("data")
        .map_or(serde_json::Value::Null, serde_json::Value::take);
    Ok((event_type, data))
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum CounterEvent {
        Incremented { by: u32 },
        Reset,
    }

    #[derive(Default)]
    struct Counter(u32);

    impl Aggregate for Counter {
        type Event = CounterEvent;
        fn evolve(self, event: &CounterEvent) -> Self {
            match event {
                CounterEvent::Incremented { by } => Counter(self.0 + by),
                CounterEvent::Reset => Counter(0),
            }
        }
    }

    #[test]
    fn a_tagged_event_round_trips_through_type_and_data() {
        let (t, d) = encode_tagged(&CounterEvent::Incremented { by: 3 }).unwrap();
        assert_eq!(t, "Incremented");
        let back: CounterEvent = decode_tagged(&t, &d).unwrap();
        assert_eq!(back, CounterEvent::Incremented { by: 3 });
        let (t, d) = encode_tagged(&CounterEvent::Reset).unwrap();
        assert_eq!(
            decode_tagged::<CounterEvent>(&t, &d).unwrap(),
            CounterEvent::Reset
        );
    }

    #[test]
    fn folding_events_gives_the_state() {
        let state = [
            CounterEvent::Incremented { by: 2 },
            CounterEvent::Reset,
            CounterEvent::Incremented { by: 5 },
        ]
        .iter()
        .fold(Counter::default(), Counter::evolve);
        assert_eq!(state.0, 5);
    }
}
