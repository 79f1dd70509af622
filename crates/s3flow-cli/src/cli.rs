//! The command line: global flags and one subcommand per action (§2). Each subcommand's own
//! flags live beside the code that runs it, in `commands/<name>.rs`; this file holds the
//! tree, the help text and the examples.

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::{
    api, bucket, copy, delete, download, head, list, local, presign, run, service, upload,
};
use crate::connection_args::ConnectionArgs;

const ABOUT: &str = "s3flow: every S3 operation a workflow needs, from the shell. JSON on stdout.";

const LONG_ABOUT: &str = "\
s3flow: every S3 operation a workflow needs, from the shell.

Works with Amazon S3 and every S3-compatible store (MinIO, Garage, SeaweedFS, Ceph RGW,
Cloudflare R2…). Each subcommand prints its result as JSON on stdout (pretty on a terminal,
one line otherwise); on failure it prints {\"error\":{\"code\",\"message\",…}} on stdout, one
line on stderr, and exits with the code of the error:
  2 invalid_input, payload_too_large   3 not_found
  4 credentials_invalid, access_denied, outside_restriction
  5 already_exists, precondition_failed   1 throttled, upstream_unavailable, timeout

Credentials: --access-key-id/--secret-access-key (better: S3FLOW_ACCESS_KEY_ID and
S3FLOW_SECRET_ACCESS_KEY), else the standard AWS variables and files (AWS_ACCESS_KEY_ID,
AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ~/.aws/config…). Secrets are never printed.";

const MAIN_EXAMPLES: &str = "\
Examples:
  s3flow local &                                   # an S3 endpoint on 127.0.0.1:9000
  export S3FLOW_ENDPOINT=http://127.0.0.1:9000 S3FLOW_ACCESS_KEY_ID=… S3FLOW_SECRET_ACCESS_KEY=…
  s3flow bucket create s3://invoices
  s3flow upload report.pdf s3://invoices/{yyyy}/{mm}/report.pdf
  s3flow list s3://invoices/2026/ --output table
  s3flow run upload --input '{\"bucket\":\"invoices\",\"key\":\"a.txt\",\"text\":\"hi\"}'";

/// The `s3flow` command line.
#[derive(Debug, Parser)]
#[command(
    name = "s3flow",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = MAIN_EXAMPLES,
    max_term_width = 100,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// json (default) or table, a readable form for people.
    #[arg(long, env = "S3FLOW_OUTPUT", global = true, value_enum, default_value_t = OutputFormat::Json, help_heading = "Output")]
    pub output: OutputFormat,

    /// Log level or filter on stderr: error, warn (the default; info for `serve`), info,
    /// debug, trace, or directives such as s3flow=debug.
    #[arg(
        long,
        env = "S3FLOW_LOG",
        global = true,
        value_name = "LEVEL",
        help_heading = "Output"
    )]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Table,
}

// Parsed once per process: boxing the big variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload a file, stdin, text, base64 or JSON under a (templated) key.
    ///
    /// The key may hold placeholders: {yyyy} {mm} {dd} {hh} {date} {timestamp} {uuid}
    /// {filename} {ext}, and {name} for any --var name=value. A key ending in / (or no key)
    /// gets the file's name.
    #[command(after_help = "\
Examples:
  s3flow upload report.pdf s3://invoices/2026/{yyyy}/report.pdf
  s3flow upload report.pdf s3://invoices/incoming/            # key incoming/report.pdf
  s3flow upload --text 'hello' s3://notes/hello.txt
  s3flow upload --json '{\"id\":7}' s3://events/{invoice_id}.json --var invoice_id=INV-7
  tar c dir | s3flow upload - s3://backups/{date}.tar --if-exists fail")]
    Upload(upload::UploadArgs),

    /// Download an object: as JSON content, to a file, or raw to stdout (-).
    ///
    /// Without DEST the content is printed inside the JSON output (as text, json or base64,
    /// see --as). DEST - writes the raw bytes to stdout; a directory DEST gets the key's
    /// file name.
    #[command(after_help = "\
Examples:
  s3flow download s3://invoices/2026/report.pdf report.pdf
  s3flow download s3://invoices/2026/report.pdf ./inbox/
  s3flow download s3://config/app.json                       # {\"content\":{\"json\":…},…}
  s3flow download s3://backups/2026-01-01.tar - | tar x
  s3flow download s3://logs/big.log --range bytes=0-1023 --as text")]
    Download(download::DownloadArgs),

    /// List objects under a prefix (all levels, or one level with its folders).
    #[command(after_help = "\
Examples:
  s3flow list s3://invoices/2026/
  s3flow list s3://invoices/ --no-recursive --output table
  s3flow list s3://invoices --max 0                          # everything, all pages")]
    List(list::ListArgs),

    /// List the folders (common prefixes) right under a prefix.
    #[command(after_help = "\
Examples:
  s3flow folders s3://invoices/
  s3flow folders s3://invoices/2026/ --output table")]
    Folders(list::FoldersArgs),

    /// Read an object's size, type, metadata and version, without its body.
    #[command(after_help = "\
Examples:
  s3flow head s3://invoices/2026/report.pdf
  s3flow head s3://invoices/2026/report.pdf --version-id 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")]
    Head(head::HeadArgs),

    /// Delete one object, or with --recursive every object under a folder.
    ///
    /// With --recursive the URI names a folder: s3://b/logs and s3://b/logs/ both mean every
    /// key under logs/. The whole bucket needs --allow-entire-bucket.
    #[command(after_help = "\
Examples:
  s3flow delete s3://invoices/2026/report.pdf
  s3flow delete s3://invoices/2025/ --recursive --dry-run    # {\"would_delete\":…}
  s3flow delete s3://invoices/2025/ --recursive")]
    Delete(delete::DeleteArgs),

    /// Delete many objects by key, in batches of 1,000.
    #[command(after_help = "\
Examples:
  s3flow delete-objects s3://invoices --key a.pdf --key b.pdf
  s3flow list s3://invoices/tmp/ | jq -r '.objects[].key' | s3flow delete-objects s3://invoices --keys-from -")]
    DeleteObjects(delete::DeleteObjectsArgs),

    /// Copy an object, across buckets and regions.
    ///
    /// A DST_URI ending in / gets the source's file name.
    #[command(after_help = "\
Examples:
  s3flow copy s3://invoices/2026/report.pdf s3://archive/2026/report.pdf
  s3flow copy s3://invoices/report.pdf s3://archive/            # archive/report.pdf
  s3flow copy s3://in/a.json s3://out/a.json --metadata reviewed=yes --storage-class STANDARD_IA")]
    Copy(copy::CopyArgs),

    /// Move an object: copy it, then delete the source once the copy succeeded.
    ///
    /// A DST_URI ending in / gets the source's file name.
    #[command(after_help = "\
Examples:
  s3flow move s3://incoming/report.pdf s3://processed/2026/report.pdf
  s3flow move s3://incoming/report.pdf s3://processed/")]
    Move(copy::CopyArgs),

    /// Make a pre-signed GET, PUT, DELETE or HEAD link (signed locally, nothing is sent).
    #[command(after_help = "\
Examples:
  s3flow presign s3://invoices/2026/report.pdf --expires 15m
  s3flow presign s3://uploads/photo.jpg --method PUT --content-type image/jpeg --expires 1h
  s3flow presign s3://invoices/r.pdf --response-content-disposition 'attachment; filename=\"r.pdf\"'")]
    Presign(presign::PresignArgs),

    /// Create buckets, find their region, list them, turn versioning on or off.
    #[command(after_help = "\
Examples:
  s3flow bucket create s3://invoices --region eu-west-1 --versioning
  s3flow bucket location s3://invoices
  s3flow bucket list --output table
  s3flow bucket versioning s3://invoices --suspend")]
    Bucket(bucket::BucketArgs),

    /// Make any other S3 call, signed for you (path relative to the endpoint, path-style).
    #[command(after_help = "\
Examples:
  s3flow api GET /invoices --query list-type=2 --query prefix=2026/
  s3flow api GET /invoices --query tagging=
  s3flow api PUT /invoices/notes.txt --text 'hello' --header content-type=text/plain")]
    Api(api::ApiArgs),

    /// Run any action from its JSON input (see `s3flow schema`).
    #[command(after_help = "\
Examples:
  s3flow run upload --input '{\"bucket\":\"invoices\",\"key\":\"a.txt\",\"text\":\"hi\"}'
  s3flow run list --input @list.json
  echo '{\"bucket\":\"invoices\",\"key\":\"a.txt\"}' | s3flow run head --input -
  s3flow run list_buckets")]
    Run(run::RunArgs),

    /// Print the JSON Schema of an action's input and output, or of every action.
    #[command(after_help = "\
Examples:
  s3flow schema upload
  s3flow schema | jq -r '.[].action'")]
    Schema(run::SchemaArgs),

    /// Start an S3-compatible endpoint over a local folder, until Ctrl-C.
    ///
    /// Prints the endpoint and its credentials on stderr with ready-to-paste export lines,
    /// and one JSON line {\"endpoint\",\"access_key_id\",\"secret_access_key\",\"region\",\"data\"}
    /// on stdout. The secret is generated on first start and kept in the data folder. The
    /// global --region sets the endpoint's region.
    #[command(after_help = "\
Examples:
  s3flow local
  s3flow local --data /var/lib/s3flow --listen 0.0.0.0:9000
  s3flow local --listen 127.0.0.1:0 > endpoint.json &        # any free port")]
    Local(local::LocalArgs),

    /// Run the HTTP connector service, with the embedded S3 endpoint and its `local` connection.
    ///
    /// Prints one JSON line {"api","local_endpoint","data","token"} on stdout; on a first
    /// start with no token, "token" holds a new {"id","token"}, shown only then.
    #[command(after_help = "\
Examples:
  s3flow serve
  s3flow serve --listen 0.0.0.0:8080 --no-local --database postgres://s3flow@db/s3flow
  s3flow serve --listen 127.0.0.1:0 --local-listen 127.0.0.1:0 --log-format json")]
    Serve(service::ServeArgs),

    /// Create, list and revoke the service's bearer tokens.
    #[command(after_help = "\
Examples:
  s3flow token create                 # {\"id\":…,\"token\":…}
  s3flow token list
  s3flow token revoke 3f9a0c1b2d4e")]
    Token(service::TokenArgs),

    /// Save, list, show, remove and test connections in the encrypted store.
    #[command(after_help = "\
Examples:
  s3flow connection add prod --endpoint https://s3.example.com --access-key-id AKIA… --region eu-west-1
  s3flow connection add r2 --json @r2.json
  s3flow connection list
  s3flow --connection prod list s3://invoices/")]
    Connection(service::ConnectionCmdArgs),

    /// Rotate the master key that encrypts the stored secrets.
    #[command(after_help = "\
Examples:
  s3flow keys rotate
  s3flow keys rotate --database postgres://postgres@127.0.0.1/s3flow")]
    Keys(service::KeysArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_has_an_example() {
        fn walk(command: &clap::Command, path: &str) {
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                assert!(help.contains("Example"), "{path} has no example");
                assert!(sub.get_about().is_some(), "{path} has no description");
                walk(sub, &path);
            }
        }
        walk(&Cli::command(), "s3flow");
    }

    #[test]
    fn connection_flags_are_global() {
        let cli = Cli::try_parse_from([
            "s3flow",
            "list",
            "s3://b",
            "--region",
            "eu-west-1",
            "--output",
            "table",
        ])
        .unwrap();
        assert_eq!(cli.connection.region.as_deref(), Some("eu-west-1"));
        assert_eq!(cli.output, OutputFormat::Table);
    }
}
