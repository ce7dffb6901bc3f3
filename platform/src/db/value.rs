//! Values and rows: integers and text only, so dates are stored as ISO text on both backends and
//! compare as they sort.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::StoreError;

/// A value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// Anything that can be bound as a statement parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8, bool);
impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToValue for NaiveDate {
    fn to_value(&self) -> Value {
        Value::Text(self.format(DATE).to_string())
    }
}
impl ToValue for NaiveDateTime {
    fn to_value(&self) -> Value {
        Value::Text(self.format(DATETIME).to_string())
    }
}
impl ToValue for hall_domain::Blzt {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(self.code()))
    }
}

const DATE: &str = "%Y-%m-%d";
/// As rusqlite wrote it in schema version 1, so older files read back the same.
const DATETIME: &str = "%Y-%m-%d %H:%M:%S%.f";

/// A date and time as the database keeps it in text (also inside text details, such as a
/// kiosk's history).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, DATETIME)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()
}

/// Statement parameters: `params![a, b]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[&dyn $crate::db::ToValue] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::db::ToValue),+] as &[&dyn $crate::db::ToValue] };
}

/// One row of a result, read by column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

fn corrupt(what: &str, i: usize, v: &Value) -> StoreError {
    StoreError::Corrupt(format!("column {i}: expected {what}, found {v:?}"))
}

impl Row {
    pub fn at(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("the row has no column {i}")))
    }

    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            v => Err(corrupt("an integer", i, v)),
        }
    }
    pub fn i64(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_i64(i)?
            .ok_or_else(|| corrupt("an integer", i, &Value::Null))
    }
    pub fn opt_u32(&self, i: usize) -> Result<Option<u32>, StoreError> {
        self.opt_i64(i)?
            .map(|n| u32::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n))))
            .transpose()
    }
    pub fn u32(&self, i: usize) -> Result<u32, StoreError> {
        let n = self.i64(i)?;
        u32::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n)))
    }
    pub fn u8(&self, i: usize) -> Result<u8, StoreError> {
        let n = self.i64(i)?;
        u8::try_from(n).map_err(|_| corrupt("a small integer", i, &Value::Int(n)))
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.i64(i)? != 0)
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            v => Err(corrupt("text", i, v)),
        }
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| corrupt("text", i, &Value::Null))
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<NaiveDate>, StoreError> {
        self.opt_text(i)?
            .map(|s| {
                NaiveDate::parse_from_str(&s, DATE)
                    .map_err(|_| corrupt("a date", i, &Value::Text(s.clone())))
            })
            .transpose()
    }
    pub fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        self.opt_date(i)?
            .ok_or_else(|| corrupt("a date", i, &Value::Null))
    }
    pub fn opt_datetime(&self, i: usize) -> Result<Option<NaiveDateTime>, StoreError> {
        self.opt_text(i)?
            .map(|s| {
                parse_datetime(&s).ok_or_else(|| corrupt("a date and time", i, &Value::Text(s)))
            })
            .transpose()
    }
    pub fn datetime(&self, i: usize) -> Result<NaiveDateTime, StoreError> {
        self.opt_datetime(i)?
            .ok_or_else(|| corrupt("a date and time", i, &Value::Null))
    }
    pub fn blzt(&self, i: usize) -> Result<hall_domain::Blzt, StoreError> {
        let code = self.u8(i)?;
        hall_domain::Blzt::try_from(code).map_err(StoreError::Corrupt)
    }
}

pub(super) fn values(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}
