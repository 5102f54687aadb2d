//! `misfire_grace` takes a duration or "never": the error points at the literal.
use pgsched::job;

#[job(misfire_grace = "soon")]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
