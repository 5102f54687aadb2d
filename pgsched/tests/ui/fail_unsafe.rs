//! `unsafe fn` cannot be a job: the worker cannot uphold its contract.
use pgsched::job;

#[job]
async unsafe fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
