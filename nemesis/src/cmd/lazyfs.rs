//! `faultline lazyfs`. (Being built.)

/// Arguments of `faultline lazyfs`.
#[derive(Debug, clap::Args)]
pub struct LazyfsArgs {}

pub fn run(_args: LazyfsArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`faultline lazyfs` is not built yet")
}
