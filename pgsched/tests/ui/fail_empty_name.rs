//! A job name cannot be empty: the error points at the literal.
use pgsched::job;

#[job(name = "")]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
