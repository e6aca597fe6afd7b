//! `faultline model`. (Being built.)

/// Arguments of `faultline model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {}

pub fn run(_args: ModelArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`faultline model` is not built yet")
}
