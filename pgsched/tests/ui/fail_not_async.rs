//! A job must be an `async fn`: the error points at `fn`.
use pgsched::job;

#[job]
fn send_email(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
