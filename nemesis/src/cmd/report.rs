//! `faultline report BUNDLE [--html OUT]`: renders a failure bundle's report.

use std::path::PathBuf;

use anyhow::Context;
use nemesis::runner::report::{render_html, render_text, BundleIndex};

/// Arguments of `faultline report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The bundle directory (holding bundle.json).
    bundle: PathBuf,
    /// Write the report as a self-contained HTML page to this file.
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let index = BundleIndex::read(&args.bundle)?;
    match args.html {
        Some(out) => {
            std::fs::write(&out, render_html(&index))
                .with_context(|| format!("writing the HTML report to {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        None => print!("{}", render_text(&index)),
    }
    Ok(0)
}
