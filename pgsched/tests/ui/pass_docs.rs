//! Doc comments and other attributes stay on the fn, and every generated item is documented.
#![deny(missing_docs, warnings)]

use pgsched::job;

/// Sends one email.
///
/// These docs stay on the function.
#[job]
#[allow(clippy::needless_pass_by_value)]
pub async fn send_email(to: String) -> Result<(), String> {
    let _ = to;
    Ok(())
}

/// A job in a nested public module.
pub mod nested {
    /// Refreshes a cache.
    #[pgsched::job(name = "nested.refresh")]
    pub(crate) async fn refresh(key: String) {
        let _ = key;
    }
}

fn main() {
    assert_eq!(send_email::NAME, "send_email");
    assert_eq!(nested::refresh::NAME, "nested.refresh");
    let _builder = nested::refresh::enqueue(nested::refresh::Args { key: "k".into() });
    let _future = nested::refresh("k".into());
}
