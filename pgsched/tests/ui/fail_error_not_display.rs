//! The error type of a job must be `Display` (it is stored as text): points at the return type.
use pgsched::job;

#[derive(Debug)]
pub struct MailError;

#[job]
async fn send(to: String) -> Result<(), MailError> {
    let _ = to;
    Err(MailError)
}

fn main() {}
