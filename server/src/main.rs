//! `password-mgmt-server`: parse the command line and run it (see [`password_mgmt_server::cli`]).

use clap::Parser as _;
use password_mgmt_server::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
