//! Only the four priority levels exist: the error points at the value.
use pgsched::job;

#[job(priority = Priority::Urgent)]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
