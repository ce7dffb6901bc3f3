//! Personal data in the store: what goes into a row sealed (see [`crate::seal`]), what comes out
//! opened, and the one-time sealing of rows an earlier version wrote in the clear.

use zeroize::Zeroizing;

use hall_domain::api::Applicant;

use super::handle::Store;
use crate::db::Conn;
use crate::error::StoreError;
use crate::params;
use crate::seal::{Sealer, place};

/// A case's applicant sealed in place (`row`: its approval code); the keyed index of their ID
/// number returned.
pub(super) fn seal_applicant(
    sealer: &Sealer,
    row: &str,
    a: &mut Applicant,
) -> Result<String, StoreError> {
    let index = sealer.index(&a.id_number);
    let id_number = Zeroizing::new(std::mem::take(&mut a.id_number));
    a.id_number = sealer.seal(&place("cases", "applicant_id_number", row), &id_number)?;
    let name = Zeroizing::new(std::mem::take(&mut a.name));
    a.name = sealer.seal(&place("cases", "applicant_name", row), &name)?;
    let phone = Zeroizing::new(std::mem::take(&mut a.phone));
    a.phone = sealer.seal(&place("cases", "applicant_phone", row), &phone)?;
    Ok(index)
}

/// A stored value opened where it was sealed (a value from before sealing is returned as it is).
fn open_at(store: &Store, at: &str, stored: &str) -> Result<String, StoreError> {
    if !Sealer::is_sealed(stored) {
        return Ok(stored.to_string());
    }
    Ok(store.sealer()?.open(at, stored)?.as_str().to_string())
}

/// A stored applicant name, opened.
pub(super) fn open_name(
    store: &Store,
    approval_code: &str,
    stored: &str,
) -> Result<String, StoreError> {
    open_at(
        store,
        &place("cases", "applicant_name", approval_code),
        stored,
    )
}

/// A fee notice's payer sealed.
pub(super) fn seal_payer(
    sealer: &Sealer,
    payment_code: &str,
    payer: &str,
) -> Result<String, StoreError> {
    Ok(sealer.seal(&place("fee_notices", "payer", payment_code), payer)?)
}

/// A stored payer, opened.
pub(super) fn open_payer(
    store: &Store,
    payment_code: &str,
    stored: &str,
) -> Result<String, StoreError> {
    open_at(store, &place("fee_notices", "payer", payment_code), stored)
}

/// Seals every applicant and payer still in the clear; how many rows. Idempotent.
fn seal_legacy(sealer: &Sealer, c: &mut dyn Conn) -> Result<usize, StoreError> {
    let mut n = 0;
    let rows = c.query(
        "SELECT approval_code, applicant_name, applicant_id_number, applicant_phone FROM cases
         WHERE applicant_id_index IS NULL",
        params![],
    )?;
    for r in &rows {
        let code = r.text(0)?;
        let mut applicant = Applicant {
            name: r.text(1)?,
            id_number: r.text(2)?,
            phone: r.text(3)?,
        };
        if Sealer::is_sealed(&applicant.id_number) {
            continue;
        }
        let index = seal_applicant(sealer, &code, &mut applicant)?;
        c.execute(
            "UPDATE cases SET applicant_name = $2, applicant_id_number = $3, applicant_phone = $4,
               applicant_id_index = $5 WHERE approval_code = $1",
            params![
                code,
                applicant.name,
                applicant.id_number,
                applicant.phone,
                index
            ],
        )?;
        n += 1;
    }
    // Only payers in the clear are read (a start reads nothing once everything is sealed).
    let rows = c.query(
        "SELECT payment_code, payer FROM fee_notices WHERE payer NOT LIKE 's1:%'",
        params![],
    )?;
    for r in &rows {
        let (code, payer) = (r.text(0)?, Zeroizing::new(r.text(1)?));
        if Sealer::is_sealed(&payer) {
            continue;
        }
        c.execute(
            "UPDATE fee_notices SET payer = $2 WHERE payment_code = $1",
            params![code, seal_payer(sealer, &code, &payer)?],
        )?;
        n += 1;
    }
    Ok(n)
}

/// Every sealed value not under the current key, sealed again under it; how many.
fn rewrap(sealer: &Sealer, c: &mut dyn Conn) -> Result<usize, StoreError> {
    let mut n = 0;
    let columns = ["applicant_name", "applicant_id_number", "applicant_phone"];
    for column in columns {
        let rows = c.query(
            &format!("SELECT approval_code, {column} FROM cases"),
            params![],
        )?;
        for r in &rows {
            let (code, stored) = (r.text(0)?, r.text(1)?);
            if !Sealer::is_sealed(&stored) || sealer.is_current(&stored) {
                continue;
            }
            let at = place("cases", column, &code);
            let plain = sealer.open(&at, &stored)?;
            c.execute(
                &format!("UPDATE cases SET {column} = $2 WHERE approval_code = $1"),
                params![code, sealer.seal(&at, &plain)?],
            )?;
            n += 1;
        }
    }
    let rows = c.query("SELECT payment_code, payer FROM fee_notices", params![])?;
    for r in &rows {
        let (code, stored) = (r.text(0)?, r.text(1)?);
        if !Sealer::is_sealed(&stored) || sealer.is_current(&stored) {
            continue;
        }
        let plain = open_payer_with(sealer, &code, &stored)?;
        c.execute(
            "UPDATE fee_notices SET payer = $2 WHERE payment_code = $1",
            params![code, seal_payer(sealer, &code, &plain)?],
        )?;
        n += 1;
    }
    Ok(n)
}

fn open_payer_with(
    sealer: &Sealer,
    payment_code: &str,
    stored: &str,
) -> Result<Zeroizing<String>, StoreError> {
    Ok(sealer.open(&place("fee_notices", "payer", payment_code), stored)?)
}

impl Store {
    /// Seals again, under the key file's first key, whatever an older key sealed (key
    /// rotation); how many values. Blocking.
    pub fn rewrap_blocking(&self) -> Result<usize, StoreError> {
        let sealer = self.sealer()?;
        self.db.write(|c| rewrap(sealer, c))
    }

    /// Seals what an earlier version stored in the clear. Blocking. On SQLite the WAL is then
    /// checkpointed into the file and truncated, so that the pages holding the clear text are
    /// overwritten (with `secure_delete`) rather than left in the WAL or the file.
    pub(super) fn seal_legacy_blocking(&self) -> Result<usize, StoreError> {
        let sealer = self.sealer()?;
        let n = self.db.write(|c| seal_legacy(sealer, c))?;
        if n > 0 {
            self.db.with_conn(|c| {
                if c.dialect() == crate::db::Dialect::Sqlite {
                    c.batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
                }
                Ok(())
            })?;
        }
        Ok(n)
    }
}
