//! Generic jobs cannot be dispatched by name: the error points at the generics.
use pgsched::job;

#[job]
async fn send<T: std::fmt::Display>(to: T) -> Result<(), String> {
    let _ = to.to_string();
    Ok(())
}

fn main() {}
