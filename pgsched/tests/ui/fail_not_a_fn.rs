//! `#[job]` goes on a function; anything else is a parse error.
use pgsched::job;

#[job]
struct Send {
    to: String,
}

fn main() {
    let _ = Send { to: String::new() }.to;
}
