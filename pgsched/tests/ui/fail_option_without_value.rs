//! An option needs a value: the error shows the form to write.
use pgsched::job;

#[job(priority)]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
