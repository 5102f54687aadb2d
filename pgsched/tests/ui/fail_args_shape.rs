//! `#[pgsched::args]` takes no options and goes on a non-generic struct with named fields;
//! every mistake is its own error.
#[pgsched::args(version = 1)]
pub struct Generic<T> {
    n: T,
}

#[pgsched::args]
pub struct Tuple(u32);

#[pgsched::args]
pub enum NotAStruct {
    A,
}

fn main() {}
