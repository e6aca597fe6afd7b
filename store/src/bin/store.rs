//! `store`: the reference store's command line.
fn main() -> anyhow::Result<()> {
    anyhow::bail!("the store command line is not built yet")
}
