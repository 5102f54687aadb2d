//! Queue and concurrency options: an empty queue name, a concurrency key that names no
//! argument, and a concurrency of 0 are each refused on the token to change.
use pgsched::job;

#[job(queue = "", concurrency_key = tenant, concurrency = 0)]
async fn send(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
