//! A job without arguments: `Args {}` and an empty schema.
#![deny(warnings)]

use pgsched::job;

/// Cleans up.
#[job]
pub async fn cleanup() -> Result<(), String> {
    Ok(())
}

fn main() {
    assert_eq!(cleanup::NAME, "cleanup");
    assert_eq!(cleanup::SCHEMA, "");
    assert_eq!(cleanup::SCHEMA_HASH, pgsched::__private::schema_hash(""));
    let _builder = cleanup::enqueue(cleanup::Args {});
    let _builder = cleanup::schedule(pgsched::__private::chrono::Utc::now(), cleanup::Args {});
    let _future = cleanup();
}
