//! Large values: a few fixed values of 1–8 KiB that the workload writes again and again, so a
//! store that keeps large values in content-addressed blobs shares one blob among many writes
//! (and a blob written twice, or collected while a write still needs it, shows).
//!
//! The history does not carry their bytes: [`name_large_values`] writes a large value as its
//! name (`big2`), and a value that starts with one (a large value with deltas appended) as the
//! name followed by the rest. A value that is large but is none of them (a torn or misplaced
//! blob) is kept as it was read, so the phantom-read check flags it.

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

/// Letters and digits from a fixed generator (xorshift), different for each value, so that a
/// torn or shifted copy never equals the original. No `+` (the delta separator).
fn content(index: u64, size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = 0x2545_F491_4F6C_DD1D ^ (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut text = format!("big{index}:");
    while text.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push(ALPHABET[(state % ALPHABET.len() as u64) as usize] as char);
    }
    text
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
    fn a_damaged_large_value_keeps_its_bytes() {
        let mut torn = large_value(2).to_owned();
        torn.replace_range(2000..2001, "+");
        assert_eq!(name_large_values(&torn), torn.as_str());
        let cut = &large_value(3)[..5000];
        assert_eq!(name_large_values(cut), cut);
    }
}
