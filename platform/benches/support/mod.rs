//! What the platform's benches share: a PostgreSQL to measure on.

use std::path::PathBuf;

/// The PostgreSQL to measure on: `HALL_TEST_POSTGRES`, or a throwaway cluster started with
/// `platform/scripts/test-postgres`.
pub fn postgres_url() -> Option<String> {
    if let Ok(v) = std::env::var("HALL_TEST_POSTGRES")
        && !v.trim().is_empty()
        && v.trim() != "skip"
    {
        return Some(v.trim().to_string());
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/test-postgres");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("export HALL_TEST_POSTGRES="))
        .map(|v| v.trim_matches('\'').to_string())
}

pub fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) => format!("{}/{db}", &url[..i]),
        None => format!("{url}/{db}"),
    }
}

pub fn admin(url: &str, sql: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("PostgreSQL");
    c.batch_execute(sql).expect("SQL");
}
