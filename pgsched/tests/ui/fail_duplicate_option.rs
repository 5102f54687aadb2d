//! An option set twice: the error points at the second one.
use pgsched::job;

#[job(timeout = "30s", max_retries = 1, timeout = "1m")]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
