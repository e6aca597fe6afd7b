//! Attachment keys: keys apart from the hot set that hold only fresh large values (an
//! attachment each, in its own blob), put by the mix's `attach` and read by some of its gets.
//! A hot key is overwritten every few milliseconds; an attachment stays until the next one
//! replaces it, so the newest blob is most often what an attachment key holds now. A blob read
//! under another blob's name (a misplaced write, a checksum that does not cover the blob's id)
//! then shows at once as a value that key was never given: a phantom read, which the checks
//! hold in every run.

/// How many attachment keys there are.
pub const ATTACHMENT_KEYS: usize = 2;

/// The name of attachment key number `index`.
pub fn attachment_key_name(index: usize) -> String {
    format!("a{index}")
}

/// Every attachment key's name.
pub fn attachment_key_names() -> impl Iterator<Item = String> {
    (0..ATTACHMENT_KEYS).map(attachment_key_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_keys_are_apart_from_the_hot_keys() {
        let names: Vec<String> = attachment_key_names().collect();
        assert_eq!(names, ["a0", "a1"]);
        let hot = crate::runner::workload::ClientWorkload::key_name(0);
        assert!(!names.contains(&hot));
    }
}
