//! Which event types a subscription takes: an exact type (`invoice.paid`), every type under a
//! prefix (`stripe.invoice.*`: `stripe.invoice.paid`, `stripe.invoice.payment.failed`, not
//! `stripe.invoice` itself), or `*` for everything.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest event-type filter accepted, in bytes (a published event's type may be longer:
/// `model::MAX_TYPE_BYTES`).
pub const MAX_EVENT_TYPE_BYTES: usize = 256;

/// One event-type filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Exact(String),
    /// The prefix with its final `.`: `stripe.invoice.`.
    Prefix(String),
    Any,
}

/// Why a filter is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event-type filter is a type (invoice.paid), a prefix ending in .* (stripe.invoice.*) or *: printable ASCII without spaces, and * only at the end")]
pub struct FilterError;

impl Filter {
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        if text == "*" {
            return Ok(Self::Any);
        }
        if text.is_empty()
            || text.len() > MAX_EVENT_TYPE_BYTES
            || !text.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(FilterError);
        }
        match text.strip_suffix('*') {
            Some(prefix) if prefix.len() > 1 && prefix.ends_with('.') && !prefix.contains('*') => {
                Ok(Self::Prefix(prefix.to_owned()))
            }
            Some(_) => Err(FilterError),
            None if text.contains('*') => Err(FilterError),
            None => Ok(Self::Exact(text.to_owned())),
        }
    }

    pub fn matches(&self, ty: &str) -> bool {
        match self {
            Self::Exact(t) => t == ty,
            Self::Prefix(p) => ty.len() > p.len() && ty.starts_with(p.as_str()),
            Self::Any => true,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(t) => f.write_str(t),
            Self::Prefix(p) => write!(f, "{p}*"),
            Self::Any => f.write_str("*"),
        }
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let cases = [
            ("invoice.paid", "invoice.paid", true),
            ("invoice.paid", "invoice.paid.x", false),
            ("invoice.paid", "invoice.pai", false),
            ("stripe.invoice.*", "stripe.invoice.paid", true),
            ("stripe.invoice.*", "stripe.invoice.payment.failed", true),
            ("stripe.invoice.*", "stripe.invoice", false),
            ("stripe.invoice.*", "stripe.invoice.", false),
            ("stripe.invoice.*", "stripe.invoices.paid", false),
            ("*", "anything", true),
        ];
        for (filter, ty, want) in cases {
            let f = Filter::parse(filter).expect(filter);
            assert_eq!(f.matches(ty), want, "{filter} on {ty}");
            assert_eq!(f.to_string(), filter);
        }
    }

    #[test]
    fn refuses_what_is_not_a_filter() {
        for bad in [
            "", "a b", "a*", "*.paid", "a.*.b", ".*", "a.**", "é", "a.*\n",
        ] {
            assert_eq!(Filter::parse(bad), Err(FilterError), "{bad:?}");
        }
        assert!(Filter::parse(&"a".repeat(257)).is_err());
    }

    #[test]
    fn round_trips_as_its_text() {
        let f = Filter::parse("stripe.*").expect("filter");
        let json = serde_json::to_string(&f).expect("json");
        assert_eq!(json, r#""stripe.*""#);
        assert_eq!(serde_json::from_str::<Filter>(&json).expect("back"), f);
        assert!(serde_json::from_str::<Filter>(r#""a*b""#).is_err());
    }
}
