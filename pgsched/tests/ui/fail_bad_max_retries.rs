//! `max_retries` is a `u32`: the error points at the value.
use pgsched::job;

#[job(max_retries = -1)]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
