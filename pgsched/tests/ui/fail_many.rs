//! Several mistakes at once are all reported, each on its own token.
use pgsched::job;

#[job(priority = Urgent, retries = 3)]
fn send(to: &str, (a, b): (u32, u32)) -> Result<(), String> {
    let _ = (to, a, b);
    Ok(())
}

fn main() {}
