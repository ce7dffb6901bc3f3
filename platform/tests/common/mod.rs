//! Databases for the tests: a SQLite file in a temporary directory, or a fresh database in the
//! test PostgreSQL cluster.
//!
//! The cluster is named by `HALL_TEST_POSTGRES` (a `postgres://` URL to a database the tests may
//! create databases from). When it is unset the harness starts one itself with
//! `platform/scripts/test-postgres start` (reused by later runs). The PostgreSQL tests never pass
//! silently without a server: they fail, unless `HALL_TEST_POSTGRES=skip` says to skip them.

#![allow(dead_code, unused_imports)]

mod bodies;
mod browser;
mod certs;
mod hall;
mod problems;
pub mod updates;

pub use bodies::{planning_permit, planning_permit_application};
pub use browser::{Browser, add_user, encode};
pub use certs::make_certs;
pub use hall::{Hall, KIOSK, client_with, today};
pub use problems::{has_error, problem};

use std::path::PathBuf;
use std::sync::OnceLock;

use hall_platform::DbUrl;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database for one test.
pub struct TestDb {
    pub url: DbUrl,
    pub kind: Kind,
    _dir: Option<tempfile::TempDir>,
}

fn admin_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        match std::env::var("HALL_TEST_POSTGRES") {
            Ok(v) if v.trim() == "skip" => return None,
            Ok(v) if !v.trim().is_empty() => return Some(v.trim().to_string()),
            _ => {}
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/test-postgres");
        let out = std::process::Command::new("bash")
            .arg(&script)
            .arg("start")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "HALL_TEST_POSTGRES is unset and {} could not start PostgreSQL:\n{}\n\
             Install PostgreSQL (apt-get install postgresql), or set HALL_TEST_POSTGRES to a \
             server's URL, or HALL_TEST_POSTGRES=skip to skip the PostgreSQL tests.",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let url = text
            .lines()
            .find_map(|l| l.strip_prefix("export HALL_TEST_POSTGRES="))
            .map(|v| v.trim_matches('\'').to_string())
            .unwrap_or_else(|| panic!("test-postgres printed no URL:\n{text}"));
        Some(url)
    })
    .clone()
}

/// Runs SQL on a PostgreSQL database (blocking client, off the async runtime).
pub async fn pg_batch(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        c.batch_execute(&sql).expect("SQL runs");
    })
    .await
    .expect("task");
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains("://") && url[i..].len() > 1 => format!("{}/{db}", &url[..i]),
        _ => format!("{url}/{db}"),
    }
}

impl TestDb {
    /// A new, empty database; `None` when PostgreSQL tests are skipped by `HALL_TEST_POSTGRES=skip`.
    pub async fn fresh(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("platform.sqlite3");
                Some(TestDb {
                    url: DbUrl::Sqlite(path),
                    kind,
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let Some(admin) = admin_url() else {
                    eprintln!("PostgreSQL test skipped: HALL_TEST_POSTGRES=skip");
                    return None;
                };
                let name = format!("hall_t_{}", uuid::Uuid::new_v4().simple());
                pg_batch(&admin, &format!("CREATE DATABASE {name}")).await;
                Some(TestDb {
                    url: DbUrl::Postgres(with_db(&admin, &name)),
                    kind,
                    _dir: None,
                })
            }
        }
    }

    /// Runs SQL on this database directly (as someone going around the platform would).
    pub async fn batch(&self, sql: &str) {
        match &self.url {
            DbUrl::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch(sql).unwrap();
            }
            DbUrl::Postgres(url) => pg_batch(url, sql).await,
        }
    }

    /// The one integer a query answers, read directly from the database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match &self.url {
            DbUrl::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            DbUrl::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_string());
                tokio::task::spawn_blocking(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    c.query_one(&sql, &[]).expect("query").get(0)
                })
                .await
                .expect("task")
            }
        }
    }

    /// Runs SQL and says whether the database accepted it.
    pub async fn try_batch(&self, sql: &str) -> bool {
        match &self.url {
            DbUrl::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch("PRAGMA foreign_keys = ON").unwrap();
                c.execute_batch(sql).is_ok()
            }
            DbUrl::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_string());
                tokio::task::spawn_blocking(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    c.batch_execute(&sql).is_ok()
                })
                .await
                .expect("task")
            }
        }
    }

    /// The `--db` argument for the command line.
    /// The key file the platform made for this database (`--seal-keys`).
    pub fn keys(&self) -> String {
        hall_platform::SealKeys::made_for(&self.url)
            .display()
            .to_string()
    }

    pub fn arg(&self) -> String {
        match &self.url {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => u.clone(),
        }
    }
}

/// Runs a test body against SQLite and PostgreSQL: `both!(name);` for `async fn name(kind: Kind)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Kind::Postgres).await
            }
        }
    )*};
}

/// A fresh database of the kind, or a return from the test when PostgreSQL tests are skipped.
#[macro_export]
macro_rules! fresh {
    ($kind:expr) => {
        match $crate::common::TestDb::fresh($kind).await {
            Some(db) => db,
            None => return,
        }
    };
}

/// Runs the `hall-platform` command line: whether it succeeded, its output and its errors.
pub fn cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hall-platform"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// [`cli`] off the async runtime's threads.
pub async fn cli_async(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs)
    })
    .await
    .unwrap()
}
