//! A private fn returning `()` (written or not) gets a private module without warnings.
#![deny(warnings)]

use pgsched::job;

#[job]
async fn log_line(line: String) {
    println!("{line}");
}

#[job]
async fn log_twice(line: String) -> () {
    println!("{line}{line}");
}

fn main() {
    assert_eq!(log_line::NAME, "log_line");
    assert_eq!(log_line::SCHEMA, "line:String");
    assert_eq!(log_twice::SCHEMA, "line:String");
    let _builder = log_line::enqueue(log_line::Args {
        line: "hello".into(),
    });
    let _builder = log_twice::schedule(
        pgsched::__private::chrono::Utc::now(),
        log_twice::Args {
            line: "hello".into(),
        },
    );
    let _future = log_line("hello".into());
    let _future = log_twice("hello".into());
}
