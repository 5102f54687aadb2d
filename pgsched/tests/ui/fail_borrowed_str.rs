//! Arguments are deserialized from the database, so they must be owned: points at `&str`.
use pgsched::job;

#[job]
async fn send(to: &str) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
