//! `s3flow`, the command line of s3flow: a thin front door over the `s3flow` library.
//! `main` only turns the outcome into an exit code; everything else lives in the modules.

mod app;
mod cli;
mod commands;
mod connection_args;
mod output;
mod uri;

fn main() -> std::process::ExitCode {
    app::run()
}
