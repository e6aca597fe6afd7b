//! Large values of 1–8 KiB, of two kinds:
//!
//! - a few fixed values ([`large_value`], `big0`..`big3`) that the workload writes again and
//!   again, so a store that keeps large values in content-addressed blobs shares one blob among
//!   many writes;
//! - fresh values ([`fresh_large_value`], `big-c<client>-<n>`), one per client and number,
//!   so a store writes a new blob for each (a blob torn while being written, collected while
//!   its write is in flight, or read under another value's name then shows as a value that
//!   was never written to its key).
//!
//! The history does not carry their bytes: [`name_large_values`] writes a large value as its
//! name (`big2`, `big-c1-7`), and a value that starts with one (a large value with deltas
//! appended) as the name followed by the rest. A value that is large but is none of them (a
//! torn blob) is kept as it was read, so the phantom-read check flags it.

use std::borrow::Cow;
use std::sync::OnceLock;

/// The sizes of the large values, in bytes; value `i` has size `LARGE_VALUE_SIZES[i]`.
pub const LARGE_VALUE_SIZES: [usize; 4] = [1024, 2500, 4096, 8192];

/// The smallest large value: a value shorter than this is never a large value.
const SMALLEST: usize = 1024;

fn values() -> &'static [String] {
    static VALUES: OnceLock<Vec<String>> = OnceLock::new();
    VALUES.get_or_init(|| {
        LARGE_VALUE_SIZES
            .iter()
            .enumerate()
            .map(|(index, &size)| content(index as u64, size))
            .collect()
    })
}

/// The fixed value `index`: its name, a colon, then [`letters`].
fn content(index: u64, size: usize) -> String {
    let seed = 0x2545_F491_4F6C_DD1D ^ (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    letters(format!("big{index}:"), seed, size)
}

/// `text` followed by letters and digits from a fixed generator (xorshift) seeded by `seed`,
/// up to `size` bytes: different for each value, so that a torn or shifted copy never equals
/// the original. No `+` (the delta separator).
fn letters(mut text: String, seed: u64, size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed | 1;
    while text.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push(ALPHABET[(state % ALPHABET.len() as u64) as usize] as char);
    }
    text
}

/// The largest fresh value, in bytes.
const LARGEST: usize = 8192;

/// Fresh large value number `number` of client `client`: `big-c<client>-<number>:` and
/// letters, 1–8 KiB (the size drawn from the name). Never equal to another client's or
/// number's.
pub fn fresh_large_value(client: u64, number: u64) -> String {
    let name = fresh_large_value_name(client, number);
    let seed = (client.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        ^ number.wrapping_add(1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    let size = SMALLEST + (seed % (LARGEST - SMALLEST + 1) as u64) as usize;
    letters(format!("{name}:"), seed, size)
}

/// The name fresh large value `number` of client `client` goes by in the history.
pub fn fresh_large_value_name(client: u64, number: u64) -> String {
    format!("big-c{client}-{number}")
}

/// The fresh large value `text` starts with, as (its name, its length), if any.
fn fresh_prefix(text: &str) -> Option<(String, usize)> {
    let head = text.get(..40).unwrap_or(text);
    let name = &head[..head.find(':')?];
    let (client, number) = name.strip_prefix("big-c")?.split_once('-')?;
    let value = fresh_large_value(client.parse().ok()?, number.parse().ok()?);
    text.starts_with(value.as_str())
        .then(|| (name.to_owned(), value.len()))
}

/// Large value number `index` (modulo the number of large values).
pub fn large_value(index: usize) -> &'static str {
    let values = values();
    &values[index % values.len()]
}

/// The name a large value goes by in the history.
pub fn large_value_name(index: usize) -> String {
    format!("big{}", index % LARGE_VALUE_SIZES.len())
}

/// `text` with a leading large value replaced by its name; other text unchanged.
pub fn name_large_values(text: &str) -> Cow<'_, str> {
    if text.len() < SMALLEST {
        return Cow::Borrowed(text);
    }
    if let Some((name, len)) = fresh_prefix(text) {
        return Cow::Owned(format!("{name}{}", &text[len..]));
    }
    // The longest match first: no value is a prefix of another, but be exact anyway.
    let mut best: Option<(usize, usize)> = None;
    for (index, value) in values().iter().enumerate() {
        if text.starts_with(value.as_str()) && best.is_none_or(|(_, len)| value.len() > len) {
            best = Some((index, value.len()));
        }
    }
    match best {
        Some((index, len)) => Cow::Owned(format!("{}{}", large_value_name(index), &text[len..])),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_have_their_sizes_and_go_by_their_names() {
        for (index, size) in LARGE_VALUE_SIZES.iter().enumerate() {
            let value = large_value(index);
            assert_eq!(value.len(), *size);
            assert!(!value.contains('+'));
            assert_eq!(name_large_values(value), large_value_name(index));
            let patched = format!("{value}+c1-2");
            assert_eq!(
                name_large_values(&patched),
                format!("{}+c1-2", large_value_name(index))
            );
        }
        assert_eq!(name_large_values("c1-2+c3-4"), "c1-2+c3-4");
    }

    #[test]
    fn fresh_large_values_differ_and_go_by_their_names() {
        let mut sizes = std::collections::BTreeSet::new();
        for (client, number) in [(0, 1), (0, 2), (1, 1), (12, 345)] {
            let value = fresh_large_value(client, number);
            assert!(
                (SMALLEST..=LARGEST).contains(&value.len()),
                "{}",
                value.len()
            );
            assert!(!value.contains('+'));
            sizes.insert(value.len());
            let name = fresh_large_value_name(client, number);
            assert_eq!(name_large_values(&value), name);
            assert_eq!(
                name_large_values(&format!("{value}+c1-2")),
                format!("{name}+c1-2")
            );
        }
        assert!(sizes.len() > 1, "every fresh value has one size");
        assert_ne!(fresh_large_value(0, 1), fresh_large_value(1, 0));
        // Another value's bytes after a name are not that name's value.
        let mut forged = fresh_large_value(3, 4);
        forged.replace_range(..9, "big-c3-5:");
        assert_eq!(name_large_values(&forged), forged.as_str());
        let mut torn = fresh_large_value(3, 4);
        torn.truncate(torn.len() - 1);
        assert_eq!(name_large_values(&torn), torn.as_str());
    }

    #[test]
    fn a_damaged_large_value_keeps_its_bytes() {
        let mut torn = large_value(2).to_owned();
        torn.replace_range(2000..2001, "+");
        assert_eq!(name_large_values(&torn), torn.as_str());
        let cut = &large_value(3)[..5000];
        assert_eq!(name_large_values(cut), cut);
    }
}
