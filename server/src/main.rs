//! The `sightline` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

// See Cargo.toml: freed memory goes back to the system instead of staying in idle arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before the runtime's threads exist, so every thread allocates with these settings.
    server::allocator::tune();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(server::cli::run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
