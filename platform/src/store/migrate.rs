//! The schema's versions: every migration step, with its SQL for each backend, and bringing a
//! database up to date (on PostgreSQL under an advisory lock, so instances starting together
//! migrate once).

use crate::db::Database;
use crate::db::{Conn, Dialect};
use crate::error::StoreError;
use crate::params;

/// One schema step: its version, a name for people, and its SQL for each backend.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every schema step, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalogue, registry, cases, fee notices and orders",
        sqlite: include_str!("../../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "catalogue versions, local references, staff tokens, audit log",
        sqlite: include_str!("../../migrations/sqlite/0002_versions_staff_audit.sql"),
        postgres: include_str!("../../migrations/postgres/0002_full_schema.sql"),
    },
    Migration {
        version: 3,
        name: "withdrawals of submissions never confirmed to the applicant",
        sqlite: include_str!("../../migrations/sqlite/0003_withdrawals.sql"),
        postgres: include_str!("../../migrations/postgres/0003_withdrawals.sql"),
    },
    Migration {
        version: 4,
        name: "audit entries linked into the chain after their transaction commits",
        sqlite: include_str!("../../migrations/sqlite/0004_audit_pending.sql"),
        postgres: include_str!("../../migrations/postgres/0004_audit_pending.sql"),
    },
    Migration {
        version: 5,
        name: "fleet control: kiosks, enrolment and help-desk tokens, commands",
        sqlite: include_str!("../../migrations/sqlite/0005_fleet.sql"),
        postgres: include_str!("../../migrations/postgres/0005_fleet.sql"),
    },
    Migration {
        version: 6,
        name: "fleet: only a kiosk's newest command poll takes commands",
        sqlite: include_str!("../../migrations/sqlite/0006_fleet_poll.sql"),
        postgres: include_str!("../../migrations/postgres/0006_fleet_poll.sql"),
    },
    Migration {
        version: 7,
        name: "payment orders belong to the kiosk that opened them",
        sqlite: include_str!("../../migrations/sqlite/0007_order_kiosk.sql"),
        postgres: include_str!("../../migrations/postgres/0007_order_kiosk.sql"),
    },
    Migration {
        version: 8,
        name: "applicants sealed at rest, found by a keyed hash of the ID number",
        sqlite: include_str!("../../migrations/sqlite/0008_sealed_applicants.sql"),
        postgres: include_str!("../../migrations/postgres/0008_sealed_applicants.sql"),
    },
    Migration {
        version: 9,
        name: "audit entries keyed one by one (HMAC under the key file's audit key)",
        sqlite: include_str!("../../migrations/sqlite/0009_keyed_audit.sql"),
        postgres: include_str!("../../migrations/postgres/0009_keyed_audit.sql"),
    },
    Migration {
        version: 10,
        name: "the web console: users, sessions, who took a help call",
        sqlite: include_str!("../../migrations/sqlite/0010_console.sql"),
        postgres: include_str!("../../migrations/postgres/0010_console.sql"),
    },
    Migration {
        version: 11,
        name: "each kiosk's history: devices, errors, boots, time offline, help calls",
        sqlite: include_str!("../../migrations/sqlite/0011_fleet_history.sql"),
        postgres: include_str!("../../migrations/postgres/0011_fleet_history.sql"),
    },
    Migration {
        version: 12,
        name: "journey events and ratings (好差评) for the hall manager's dashboard",
        sqlite: include_str!("../../migrations/sqlite/0012_journeys.sql"),
        postgres: include_str!("../../migrations/postgres/0012_journeys.sql"),
    },
    Migration {
        version: 13,
        name: "field updates: releases, rollouts, each kiosk's system and update state",
        sqlite: include_str!("../../migrations/sqlite/0013_field_updates.sql"),
        postgres: include_str!("../../migrations/postgres/0013_field_updates.sql"),
    },
    Migration {
        version: 14,
        name: "reversals of scanned payment codes held until 15 s after the debit attempt",
        sqlite: include_str!("../../migrations/sqlite/0014_held_reversals.sql"),
        postgres: include_str!("../../migrations/postgres/0014_held_reversals.sql"),
    },
];

/// The schema version this program writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// A key of PostgreSQL's advisory locks, held while migrating.
pub(super) const MIGRATION_LOCK: i64 = 0x4841_4c4c_0001;

pub(super) fn current_version(c: &mut dyn Conn) -> Result<i64, StoreError> {
    c.query_one(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        params![],
    )?
    .i64(0)
}

pub(super) fn migrate(db: &Database) -> Result<(), StoreError> {
    db.with_conn(|c| {
        let pg = c.dialect() == Dialect::Postgres;
        if pg {
            c.execute("SELECT pg_advisory_lock($1)::text", params![MIGRATION_LOCK])?;
        }
        let result = migrate_locked(c);
        if pg {
            c.execute(
                "SELECT pg_advisory_unlock($1)::text",
                params![MIGRATION_LOCK],
            )?;
        }
        result
    })
}

pub(super) fn migrate_locked(c: &mut dyn Conn) -> Result<(), StoreError> {
    let pg = c.dialect() == Dialect::Postgres;
    c.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )?;
    let found = current_version(c)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        c.batch(if pg { "BEGIN" } else { "BEGIN IMMEDIATE" })?;
        let step = (|| {
            c.batch(if pg { m.postgres } else { m.sqlite })?;
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                params![m.version, m.name, chrono::Utc::now().naive_utc()],
            )?;
            c.batch("COMMIT")
        })();
        if let Err(e) = step {
            let _ = c.batch("ROLLBACK");
            return Err(e);
        }
        tracing::info!(
            version = m.version,
            name = m.name,
            "database schema migrated"
        );
    }
    Ok(())
}
