//! `faultline check`. (Being built.)

/// Arguments of `faultline check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(_args: CheckArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`faultline check` is not built yet")
}
