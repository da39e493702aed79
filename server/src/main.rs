//! The `sightline` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

// See Cargo.toml: freed memory goes back to the system instead of staying in idle arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::run().await
}
