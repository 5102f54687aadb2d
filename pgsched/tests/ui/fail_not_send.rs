//! Jobs run on a multi-threaded runtime, so their future must be `Send`: the error explains which
//! value is held across which `.await` in the job's body.
use std::rc::Rc;

use pgsched::job;

async fn pause() {}

#[job]
async fn count(to: String) -> Result<(), String> {
    let shared = Rc::new(to);
    pause().await;
    let _ = shared.len();
    Ok(())
}

fn main() {}
