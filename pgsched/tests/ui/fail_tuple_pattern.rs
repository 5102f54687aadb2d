//! Each argument needs a name for its `Args` field: the error points at the pattern.
use pgsched::job;

#[job]
async fn add((a, b): (u32, u32)) -> Result<(), String> {
    let _ = a + b;
    Ok(())
}

fn main() {}
