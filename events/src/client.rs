//! Events of `client-<id>` streams: the people who book (name, phone, email), found again by phone.
//!
//! A client with a phone number has a deterministic id per business ([`client_id_for_phone`]), so the
//! same caller is the same client without a lookup table, and "find by phone" is "load that stream".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::stream::{StreamId, StreamKind};

/// The stream of one client.
pub fn client_stream(client_id: Uuid) -> StreamId {
    StreamId::new(StreamKind::Client, client_id)
}

/// Namespace of client ids derived from phone numbers (UUID v5).
const CLIENT_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_8d2e_4a57_4b0e_9c3d_2b7a_51e0_c4f9);

/// Keeps `+` and digits only, so `+1 (555) 010-2030` and `+15550102030` are the same phone.
pub fn normalize_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// The id of the client of `business_id` with this phone number (after [`normalize_phone`]).
pub fn client_id_for_phone(business_id: Uuid, phone: &str) -> Uuid {
    let key = format!("{business_id}/{}", normalize_phone(phone));
    Uuid::new_v5(&CLIENT_NAMESPACE, key.as_bytes())
}

/// A client's details as recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetails {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The events of a `client-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ClientEvent {
    ClientRegistered {
        client_id: Uuid,
        business_id: Uuid,
        details: ClientDetails,
        occurred_at: DateTime<Utc>,
    },
    ClientDetailsUpdated {
        business_id: Uuid,
        details: ClientDetails,
        occurred_at: DateTime<Utc>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_phone_written_two_ways_is_the_same_client_of_a_business_and_not_of_another() {
        let business = Uuid::from_u128(7);
        assert_eq!(
            client_id_for_phone(business, "+1 (555) 010-2030"),
            client_id_for_phone(business, "+15550102030")
        );
        assert_ne!(
            client_id_for_phone(business, "+15550102030"),
            client_id_for_phone(Uuid::from_u128(8), "+15550102030")
        );
    }
}
