//! `cargo xtask`: developer tasks for pgsched.
//!
//! - `cargo xtask bench [workload…]`: the benchmarks, printed as `bench <workload> <value>
//!   <unit>` and `ratio <name> <value>` lines (see `BENCHMARKS.md`); a workload name selects
//!   every workload it begins (`drain`), one ending in `$` only itself (`drain$`). Against `DATABASE_URL`,
//!   else the server on 127.0.0.1:5432, else a throwaway cluster.

mod bench;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]).await,
        Some("bench-worker") if (3..=4).contains(&args.len()) => {
            bench::worker::serve(&args[1], &args[2], args.get(3).map(String::as_str)).await
        }
        _ => {
            eprintln!(
                "usage: cargo xtask bench [workload…]\n  workloads: {}",
                bench::WORKLOADS.join(" ")
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
