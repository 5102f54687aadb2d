//! A job returns `()` or `Result<(), E: Display>`: the error points at the return type.
use pgsched::job;

#[job]
async fn count(to: String) -> u32 {
    to.len() as u32
}

fn main() {}
