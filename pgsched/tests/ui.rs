//! Compile-time behaviour of `#[job]` and `#[periodic]`: what expands and runs (`pass_*`), and
//! the exact diagnostic each mistake reports (`fail_*`, one file per diagnostic, `.stderr`
//! beside it).
//!
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test -p pgsched --test ui`, then read
//! every changed `.stderr`: the message and the underlined token are the point of the test.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
