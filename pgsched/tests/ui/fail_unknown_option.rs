//! Misspelled options are refused with the list of valid ones, pointing at the name.
use pgsched::job;

#[job(max_retry = 3)]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
