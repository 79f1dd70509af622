//! From arguments to an exit code: parse, set up logging, run the subcommand on a tokio
//! runtime, print the outcome or the error (§5).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use s3flow::{Error, ErrorCode};

use crate::cli::{Cli, OutputFormat};
use crate::commands::{self, Outcome};
use crate::output;

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    let format = cli.output;
    // The service logs at info in its own format; every other command at warn.
    // The service's guard lives until `run` returns, so its queued log lines are written out.
    let logging = match &cli.command {
        crate::cli::Command::Serve(args) => {
            s3flow_server::serve::init_logging(args.log_format.as_str(), cli.log_level.as_deref())
                .map(Some)
        }
        _ => init_logging(cli.log_level.as_deref()).map(|()| None),
    };
    let _log_guard = match logging {
        Ok(guard) => guard,
        Err(err) => return failure(&err),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, crate::cli::Command::Serve(_)) {
        builder.max_blocking_threads(s3flow_server::serve::blocking_threads());
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            return failure(&Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("cannot start the runtime: {e}"),
            ))
        }
    };
    let result = runtime.block_on(commands::dispatch(cli.command, &cli.connection));
    match result {
        Ok(outcome) => success(outcome, format),
        Err(err) => failure(&err),
    }
}

fn success(outcome: Outcome, format: OutputFormat) -> ExitCode {
    let stdout = std::io::stdout();
    let written = match outcome {
        Outcome::Json(value) => {
            let text = output::render(&value, format, stdout.is_terminal());
            stdout.lock().write_all(text.as_bytes())
        }
        Outcome::Raw(bytes) => stdout.lock().write_all(&bytes),
        Outcome::Done => Ok(()),
        Outcome::Partial(value) => {
            let text = output::render(&value, format, stdout.is_terminal());
            let failed = value["failed"].as_u64().unwrap_or(0);
            eprintln!("s3flow: {failed} file(s) failed; see \"errors\" in the summary");
            let _ = stdout.lock().write_all(text.as_bytes());
            return exit_code(1);
        }
    };
    match written.and_then(|()| std::io::stdout().lock().flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing more to say, as ripgrep does.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3flow: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `{"error":{…}}` on stdout, one human line on stderr, the contract's exit code.
fn failure(err: &Error) -> ExitCode {
    let stdout = std::io::stdout();
    let text = output::json(&err.to_json(), stdout.is_terminal());
    let _ = stdout.lock().write_all(text.as_bytes());
    eprintln!("s3flow: {err}");
    exit_code(err.code.exit_code())
}

/// Help and version go to stdout with exit 0; usage errors keep clap's message on stderr and
/// its exit code 2, with the same `{"error":…}` on stdout as every other failure.
fn usage_error(err: clap::Error) -> ExitCode {
    if !err.use_stderr() {
        let _ = err.print();
        return exit_code(err.exit_code());
    }
    let message = match err.kind() {
        clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a subcommand is required (see s3flow --help)".to_owned()
        }
        _ => usage_message(&err.render().to_string()),
    };
    let json = Error::invalid_input(message).to_json();
    let stdout = std::io::stdout();
    let _ = stdout
        .lock()
        .write_all(output::json(&json, stdout.is_terminal()).as_bytes());
    let _ = err.print();
    exit_code(err.exit_code())
}

/// clap's message without its usage block, on one line: `the following required arguments
/// were not provided: <s3://bucket/key>`.
fn usage_message(rendered: &str) -> String {
    let text: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let text = text.join(" ");
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `tracing` to stderr; `--log-level`/`S3FLOW_LOG` take a level or full filter directives.
fn init_logging(filter: Option<&str>) -> Result<(), Error> {
    let filter = filter.unwrap_or("warn");
    // s3s logs whole requests, Authorization header included, at debug: keep it at info
    // unless the filter names it on purpose.
    let verbose = filter.contains("debug") || filter.contains("trace");
    let directives = if verbose && !filter.contains("s3s") {
        format!("{filter},s3s=info")
    } else {
        filter.to_owned()
    };
    let env_filter = tracing_subscriber::EnvFilter::try_new(&directives).map_err(|e| {
        Error::invalid_input(format!(
            "--log-level: {filter:?} is not a level or filter: {e}"
        ))
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| Error::invalid_input(format!("--log-level: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_read_as_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  <s3://bucket/key>\n\nUsage: s3flow head <s3://bucket/key>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_message(rendered),
            "the following required arguments were not provided: <s3://bucket/key>"
        );
        let rendered = "error: unexpected argument '--nope' found\n\n  tip: to pass '--nope' as a value, use '-- --nope'\n\nUsage: s3flow list\n";
        assert_eq!(
            usage_message(rendered),
            "unexpected argument '--nope' found tip: to pass '--nope' as a value, use '-- --nope'"
        );
    }
}
