//! The `warden` command-line interface. A thin layer over the library: each
//! command parses its flags, calls the library, and prints the result.

use warden_cli as cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::broken_pipe::exit_quietly_when_stdout_closes();
    let args = cli::Cli::parse();
    cli::init_tracing(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::FAILURE);
        }
    };
    let json = args.json();
    match runtime.block_on(args.execute()) {
        Ok(code) => code,
        Err(err) => cli::report_error(&err, json),
    }
}
