//! `upload DIR s3://b/p/ --recursive` and `download s3://b/p/ DIR --recursive`: thin over
//! `s3flow::transfer::dir`, with a progress bar on a terminal and a JSON summary.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use s3flow::transfer::dir::{self, DirOptions, Filter, Summary};
use s3flow::{Client, Result};

use super::Outcome;

/// `--include`, `--exclude` and `--concurrency`, shared by `upload` and `download`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DirArgs {
    /// With --recursive: only paths (relative to the folder or prefix) matching this glob,
    /// repeatable.
    #[arg(
        long,
        value_name = "GLOB",
        requires = "recursive",
        help_heading = "Directories"
    )]
    pub include: Vec<String>,

    /// With --recursive: skip paths (relative to the folder or prefix) matching this glob,
    /// repeatable.
    #[arg(
        long,
        value_name = "GLOB",
        requires = "recursive",
        help_heading = "Directories"
    )]
    pub exclude: Vec<String>,

    /// With --recursive: files in flight at once (default 256). Memory is bounded by the
    /// part budget, not by this; a store with slow metadata writes may prefer fewer.
    #[arg(
        long,
        value_name = "N",
        requires = "recursive",
        value_parser = clap::value_parser!(u16).range(1..),
        help_heading = "Directories"
    )]
    pub concurrency: Option<u16>,
}

impl DirArgs {
    /// Into the library's options.
    pub fn options(&self) -> Result<DirOptions> {
        Ok(DirOptions {
            filter: Filter::new(&self.include, &self.exclude)?,
            concurrency: self.concurrency.map(usize::from),
            ..DirOptions::default()
        })
    }
}

/// A bar on stderr when it is a terminal; none when piped.
fn progress_bar(options: &mut DirOptions, label: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} {pos} files, {bytes_per_sec} [{elapsed}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(label.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let tick = bar.clone();
    options.progress = Some(Arc::new(move |_bytes| tick.inc(1)));
    Some(bar)
}

fn outcome(summary: Summary) -> Result<Outcome> {
    let failed = summary.failed;
    let value = serde_json::to_value(summary).expect("a summary serializes");
    Ok(if failed > 0 {
        Outcome::Partial(value)
    } else {
        Outcome::Json(value)
    })
}

pub async fn upload(
    client: &Client,
    source: &Path,
    bucket: &str,
    prefix: &str,
    mut options: DirOptions,
) -> Result<Outcome> {
    let bar = progress_bar(&mut options, "uploading");
    let summary = dir::upload_dir(client, source, bucket, prefix, &options).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome(summary?)
}

pub async fn download(
    client: &Client,
    bucket: &str,
    prefix: &str,
    target: &Path,
    mut options: DirOptions,
) -> Result<Outcome> {
    let bar = progress_bar(&mut options, "downloading");
    let summary = dir::download_dir(client, bucket, prefix, target, &options).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome(summary?)
}
