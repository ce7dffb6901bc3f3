//! PostgreSQL clients with their prepared statements.

use std::collections::HashMap;

use super::conn::{Conn, Dialect};
use super::value::{Row, ToValue, Value, values};
use crate::error::StoreError;

/// A PostgreSQL client with its prepared statements.
pub struct PgConn {
    client: postgres::Client,
    prepared: HashMap<String, postgres::Statement>,
    audit: std::sync::Arc<super::conn::AuditKey>,
}

mod pg_value {
    use super::Value;
    use bytes::BytesMut;
    use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
    use std::error::Error;

    type BoxError = Box<dyn Error + Sync + Send>;

    impl ToSql for Value {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            match self {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(n) => match *ty {
                    Type::INT8 => n.to_sql(ty, out),
                    Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                    Type::BOOL => (*n != 0).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                    _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
                },
                Value::Text(s) => match *ty {
                    Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                    _ => s.as_str().to_sql(ty, out),
                },
            }
        }

        fn accepts(_ty: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }
}

impl PgConn {
    /// This connection signs audit entries with the database's audit key.
    pub(super) fn keyed(mut self, audit: std::sync::Arc<super::conn::AuditKey>) -> Self {
        self.audit = audit;
        self
    }

    pub(super) fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        // Dates are text on both backends; the session speaks UTC so nothing depends on the
        // server's zone.
        client.batch_execute("SET TIME ZONE 'UTC'; SET client_min_messages = warning")?;
        Ok(Self {
            client,
            prepared: HashMap::new(),
            audit: Default::default(),
        })
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.prepared.len() > 256 {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(super) fn healthy(&self) -> bool {
        !self.client.is_closed()
    }
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, StoreError> {
    use postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    let v = match ty {
        Some(Type::INT8) => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Some(Type::INT4) => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Int(i64::from(n))),
        Some(Type::INT2) => row
            .try_get::<_, Option<i16>>(i)?
            .map(|n| Value::Int(i64::from(n))),
        Some(Type::BOOL) => row
            .try_get::<_, Option<bool>>(i)?
            .map(|b| Value::Int(i64::from(b))),
        Some(Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME) => {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        }
        other => {
            return Err(StoreError::Corrupt(format!(
                "column {i} has a type the platform does not read ({other:?})"
            )));
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

impl Conn for PgConn {
    fn audit_mac(&self, hash: &str) -> Option<String> {
        self.audit.mac(hash)
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let vals = values(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = vals
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.statement(sql)?;
        let vals = values(params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = vals
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self.client.query(&stmt, &refs)?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| pg_value(r, i))
                    .collect::<Result<_, _>>()
                    .map(Row)
            })
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql)?;
        Ok(())
    }
}
