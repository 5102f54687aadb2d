//! Argument types must be serde types: the errors point at the argument's type.
use pgsched::job;

#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub street: String,
}

#[job]
async fn ship(to: Address) -> Result<(), String> {
    let _ = to.street;
    Ok(())
}

fn main() {}
