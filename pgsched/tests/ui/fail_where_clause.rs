//! A `where` clause makes a job generic too: the error points at it.
use pgsched::job;

#[job]
async fn send(to: String) -> Result<(), String>
where
    String: Clone,
{
    let _ = to;
    Ok(())
}

fn main() {}
