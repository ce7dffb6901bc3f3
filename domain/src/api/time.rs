//! Times on the wire: RFC 3339 with the offset of the hall's clock (`2026-12-04T20:07:49+08:00`),
//! so any reader knows the instant. The platform and the kiosk keep local wall-clock times
//! (`NaiveDateTime`) inside; a time read from the wire is put into the reader's local time.
//! A time without an offset (from an earlier platform) is read as local time.

use chrono::{DateTime, Local, NaiveDateTime, SecondsFormat, TimeZone};
use serde::{Deserialize, Deserializer, Serializer};

fn to_wire(t: &NaiveDateTime) -> String {
    match Local.from_local_datetime(t).earliest() {
        Some(local) => local.to_rfc3339_opts(SecondsFormat::AutoSi, false),
        // A wall-clock time skipped by a clock change: said in UTC rather than not at all.
        None => t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, false),
    }
}

fn from_wire<E: serde::de::Error>(s: &str) -> Result<NaiveDateTime, E> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Local).naive_local());
    }
    s.parse::<NaiveDateTime>()
        .map_err(|_| E::custom(format!("not an RFC 3339 date-time: {s:?}")))
}

/// `#[serde(with = "time::local")]` for a `NaiveDateTime`.
pub mod local {
    use super::*;

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_wire(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let s = String::deserialize(d)?;
        from_wire(&s)
    }
}

/// `#[serde(with = "time::local_opt")]` for an `Option<NaiveDateTime>` (null when absent).
pub mod local_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&to_wire(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => from_wire(&s).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct At {
        #[serde(with = "local")]
        at: NaiveDateTime,
        #[serde(default, with = "local_opt")]
        maybe: Option<NaiveDateTime>,
    }

    fn at(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn times_carry_the_offset_and_read_back_as_the_same_local_time() {
        let v = At {
            at: at("2026-12-04T20:07:49.902299313"),
            maybe: None,
        };
        let json = serde_json::to_string(&v).unwrap();
        let wire = serde_json::from_str::<serde_json::Value>(&json).unwrap();
        let text = wire["at"].as_str().unwrap();
        assert!(
            DateTime::parse_from_rfc3339(text).is_ok(),
            "{text} is RFC 3339"
        );
        assert!(text.starts_with("2026-12-04T20:07:49.902299313"), "{text}");
        assert_eq!(wire["maybe"], serde_json::Value::Null);
        assert_eq!(serde_json::from_str::<At>(&json).unwrap(), v);
    }

    #[test]
    fn another_offset_is_put_into_local_time_and_a_bare_time_is_local() {
        let utc = "2026-12-04T12:00:00Z";
        let v: At = serde_json::from_str(&format!(
            r#"{{"at":"{utc}","maybe":"2026-12-04T08:00:00"}}"#
        ))
        .unwrap();
        let instant = DateTime::parse_from_rfc3339(utc).unwrap();
        assert_eq!(v.at, instant.with_timezone(&Local).naive_local());
        assert_eq!(v.maybe, Some(at("2026-12-04T08:00:00")));
    }

    #[test]
    fn a_time_that_is_not_one_is_refused() {
        let err = serde_json::from_str::<At>(r#"{"at":"yesterday"}"#).unwrap_err();
        assert!(err.to_string().contains("RFC 3339"), "{err}");
    }
}
