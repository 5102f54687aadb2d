//! A zero timeout would fail every attempt: the error points at the literal.
use pgsched::job;

#[job(timeout = "0s")]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
