//! A type with a lifetime borrows too: the error points at the whole type.
use std::borrow::Cow;

use pgsched::job;

#[job]
async fn send(to: Cow<'static, str>) -> Result<(), String> {
    let _ = to;
    Ok(())
}

fn main() {}
