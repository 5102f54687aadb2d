//! `Args` derives `Debug`, `Clone` and `PartialEq`, so argument types must implement them:
//! the error names the missing trait and the argument's type.
use pgsched::job;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub street: String,
}

#[job]
async fn ship(to: Address) -> Result<(), String> {
    let _ = to.street;
    Ok(())
}

fn main() {}
