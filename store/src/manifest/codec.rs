//! The manifest file's bytes: encoding and verified decoding (layout: `store/FORMAT.md`,
//! "Manifest files"; offsets: the `MANIFEST_*` constants).

use std::path::Path;

use super::{
    Manifest, ManifestError, ManifestToken, MANIFEST_COVERED_LSN_OFFSET, MANIFEST_EPOCH_OFFSET,
    MANIFEST_FORMAT_VERSION, MANIFEST_ID_LEN_OFFSET, MANIFEST_ID_OFFSET, MANIFEST_MAGIC,
    MANIFEST_MAGIC_OFFSET, MANIFEST_SEQ_OFFSET, MANIFEST_VERSION_OFFSET,
};
use crate::blob::BlobId;
use crate::lock::Epoch;
use crate::wal::Lsn;

/// Encodes a manifest file; returns the bytes and the CRC (part of the token).
pub fn encode_manifest(manifest: &Manifest) -> (Vec<u8>, u32) {
    let id = manifest
        .snapshot
        .as_ref()
        .map_or("", |id| id.as_str())
        .as_bytes();
    let mut out = Vec::with_capacity(MANIFEST_ID_OFFSET + id.len() + 4);
    out.extend_from_slice(&MANIFEST_MAGIC);
    out.extend_from_slice(&MANIFEST_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(id.len() as u16).to_le_bytes());
    out.extend_from_slice(&manifest.seq.to_le_bytes());
    out.extend_from_slice(&manifest.epoch.0.to_le_bytes());
    out.extend_from_slice(&manifest.covered_lsn.0.to_le_bytes());
    out.extend_from_slice(id);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    (out, crc)
}

fn u64_at(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        bytes.get(offset..offset + 8)?.try_into().ok()?,
    ))
}

/// Decodes and verifies a manifest file read from `path`.
pub fn decode_manifest(
    path: &Path,
    bytes: &[u8],
) -> Result<(Manifest, ManifestToken), ManifestError> {
    let corrupt = |offset: usize, detail: String| ManifestError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        detail,
    };
    if bytes.len() < MANIFEST_ID_OFFSET + 4 {
        return Err(corrupt(
            0,
            format!("{} bytes, shorter than a manifest", bytes.len()),
        ));
    }
    if bytes.get(..8) != Some(&MANIFEST_MAGIC[..]) {
        return Err(corrupt(MANIFEST_MAGIC_OFFSET, "bad magic".into()));
    }
    let id_len = u16::from_le_bytes([bytes[10], bytes[11]]) as usize;
    let crc_offset = MANIFEST_ID_OFFSET + id_len;
    if bytes.len() != crc_offset + 4 {
        return Err(corrupt(
            MANIFEST_ID_LEN_OFFSET,
            format!(
                "id length {id_len} implies {} bytes, the file has {}",
                crc_offset + 4,
                bytes.len()
            ),
        ));
    }
    let body = bytes.get(..crc_offset).unwrap_or_default();
    let stored = bytes
        .get(crc_offset..)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(corrupt(
            crc_offset,
            format!("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"),
        ));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != MANIFEST_FORMAT_VERSION {
        return Err(corrupt(
            MANIFEST_VERSION_OFFSET,
            format!("unsupported version {version}"),
        ));
    }
    let snapshot = match body.get(MANIFEST_ID_OFFSET..).unwrap_or_default() {
        [] => None,
        id => {
            let text = String::from_utf8_lossy(id).into_owned();
            Some(BlobId::new(text).map_err(|e| corrupt(MANIFEST_ID_OFFSET, e.to_string()))?)
        }
    };
    let field = |offset| u64_at(bytes, offset).ok_or_else(|| corrupt(offset, "truncated".into()));
    let manifest = Manifest {
        seq: field(MANIFEST_SEQ_OFFSET)?,
        epoch: Epoch(field(MANIFEST_EPOCH_OFFSET)?),
        snapshot,
        covered_lsn: Lsn(field(MANIFEST_COVERED_LSN_OFFSET)?),
    };
    let token = ManifestToken {
        seq: manifest.seq,
        crc: stored,
    };
    Ok((manifest, token))
}
