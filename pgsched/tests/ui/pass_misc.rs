//! Raw identifiers, `mut` parameters, paths in types and jobs defined by `macro_rules!`.
#![deny(warnings)]

use std::collections::BTreeMap;

use pgsched::job;

/// An argument type of the user's own.
#[derive(Debug, Clone, PartialEq, pgsched::__private::serde::Serialize, pgsched::__private::serde::Deserialize)]
#[serde(crate = "pgsched::__private::serde")]
pub struct Address {
    /// The street.
    pub street: String,
}

#[job]
async fn r#move(
    r#type: u8,
    mut to: Address,
    tags: Option<std::string::String>,
    map: BTreeMap<String, Vec<u64>>,
) {
    to.street.push('!');
    let _ = (r#type, to.street, tags, map);
}

macro_rules! define_job {
    ($name:ident, $ty:ty) => {
        #[job]
        async fn $name(value: $ty) -> Result<(), String> {
            let _ = value;
            Ok(())
        }
    };
}

define_job!(from_macro, Vec<u32>);

fn main() {
    assert_eq!(r#move::NAME, "move");
    assert_eq!(
        r#move::SCHEMA,
        "type:u8,to:Address,tags:Option<std::string::String>,map:BTreeMap<String,Vec<u64>>"
    );
    let _builder = r#move::enqueue(r#move::Args {
        r#type: 1,
        to: Address {
            street: "Main".into(),
        },
        tags: None,
        map: BTreeMap::new(),
    });
    assert_eq!(from_macro::NAME, "from_macro");
    assert_eq!(from_macro::SCHEMA, "value:Vec<u32>");
    let _builder = from_macro::enqueue(from_macro::Args { value: vec![1] });
}
