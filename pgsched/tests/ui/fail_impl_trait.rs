//! `impl Trait` arguments are generic: the error points at the `impl Trait` type.
use pgsched::job;

#[job]
async fn send(to: impl Into<String>) -> Result<(), String> {
    let _ = to.into();
    Ok(())
}

fn main() {}
