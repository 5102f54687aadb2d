//! A context parameter must be a `FromContext` type: the error points at it.
use pgsched::job;

/// Looks like a context type by name, but is not pgsched's.
pub struct State<T>(pub T);

#[job]
async fn send(to: String, db: State<u32>) -> Result<(), String> {
    let _ = (to, db.0);
    Ok(())
}

fn main() {}
