//! Byte layout of a lock epoch file (`lock/epoch-<N:020>`). Mirrors `store/FORMAT.md`, "Lock
//! epoch file"; integers are little-endian. The whole file is at most 320 bytes, so a
//! heartbeat rewrite at offset 0 stays within one sector (assumed atomic or detected by CRC).

use std::fmt;

use crate::lock::Epoch;

/// Lock file magic, `FLTLOCK\0`.
pub const LOCK_MAGIC: [u8; 8] = *b"FLTLOCK\0";
/// Current lock file format version.
pub const LOCK_FORMAT_VERSION: u16 = 1;
/// Bytes 0..8 magic.
pub const LOCK_MAGIC_OFFSET: usize = 0;
/// Bytes 8..10 format version.
pub const LOCK_VERSION_OFFSET: usize = 8;
/// Bytes 10..12 flags; bit 0: released. Other bits zero.
pub const LOCK_FLAGS_OFFSET: usize = 10;
/// Bytes 12..16 owner pid.
pub const LOCK_PID_OFFSET: usize = 12;
/// Bytes 16..24 epoch (repeats the file name).
pub const LOCK_EPOCH_OFFSET: usize = 16;
/// Bytes 24..32 owner nonce.
pub const LOCK_NONCE_OFFSET: usize = 24;
/// Bytes 32..40 last heartbeat, ms since the Unix epoch.
pub const LOCK_HEARTBEAT_OFFSET: usize = 32;
/// Bytes 40..48 lease length in ms.
pub const LOCK_LEASE_OFFSET: usize = 40;
/// Bytes 48..50 host name length `h`.
pub const LOCK_HOST_LEN_OFFSET: usize = 48;
/// Bytes 50..52 reserved, zero.
pub const LOCK_RESERVED_OFFSET: usize = 50;
/// Bytes 52..52+h host name (UTF-8), then 4 bytes CRC32C of everything before.
pub const LOCK_HOST_OFFSET: usize = 52;
/// Longest host name stored.
pub const MAX_HOST_BYTES: usize = 255;
/// Flag bit: the holder released the epoch.
pub const FLAG_RELEASED: u16 = 1;

/// What an epoch file says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The epoch.
    pub epoch: Epoch,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's host name.
    pub host: String,
    /// A number telling apart holders that reuse a pid.
    pub nonce: u64,
    /// Last heartbeat, ms since the Unix epoch.
    pub heartbeat_ms: u64,
    /// Lease length in ms.
    pub lease_ms: u64,
    /// Whether the holder released the epoch.
    pub released: bool,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {:?}, heartbeat {} ms, lease {} ms{}",
            self.pid,
            self.host,
            self.heartbeat_ms,
            self.lease_ms,
            if self.released { ", released" } else { "" }
        )
    }
}

/// Encodes an owner record (host names longer than [`MAX_HOST_BYTES`] are truncated).
pub fn encode_owner(owner: &Owner) -> Vec<u8> {
    let mut host = owner.host.as_bytes();
    host = &host[..host.len().min(MAX_HOST_BYTES)];
    let mut out = Vec::with_capacity(LOCK_HOST_OFFSET + host.len() + 4);
    out.extend_from_slice(&LOCK_MAGIC);
    out.extend_from_slice(&LOCK_FORMAT_VERSION.to_le_bytes());
    let flags = if owner.released { FLAG_RELEASED } else { 0 };
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&owner.pid.to_le_bytes());
    out.extend_from_slice(&owner.epoch.0.to_le_bytes());
    out.extend_from_slice(&owner.nonce.to_le_bytes());
    out.extend_from_slice(&owner.heartbeat_ms.to_le_bytes());
    out.extend_from_slice(&owner.lease_ms.to_le_bytes());
    out.extend_from_slice(&(host.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    debug_assert_eq!(out.len(), LOCK_HOST_OFFSET);
    out.extend_from_slice(host);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn field<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N], String> {
    bytes
        .get(offset..offset + N)
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| format!("truncated at offset {offset}"))
}

/// Decodes an owner record, or says what is wrong (with the offset).
pub fn decode_owner(bytes: &[u8]) -> Result<Owner, String> {
    if field::<8>(bytes, LOCK_MAGIC_OFFSET)? != LOCK_MAGIC {
        return Err("bad magic at offset 0".into());
    }
    let host_len = u16::from_le_bytes(field(bytes, LOCK_HOST_LEN_OFFSET)?) as usize;
    let crc_offset = LOCK_HOST_OFFSET + host_len;
    let stored = u32::from_le_bytes(field(bytes, crc_offset)?);
    let body = bytes.get(..crc_offset).unwrap_or_default();
    if stored != crc32c::crc32c(body) {
        return Err(format!("checksum mismatch at offset {crc_offset}"));
    }
    if bytes.len() != crc_offset + 4 {
        return Err(format!(
            "{} trailing bytes after offset {}",
            bytes.len() - crc_offset - 4,
            crc_offset + 4
        ));
    }
    let version = u16::from_le_bytes(field(bytes, LOCK_VERSION_OFFSET)?);
    if version != LOCK_FORMAT_VERSION {
        return Err(format!(
            "unsupported version {version} at offset {LOCK_VERSION_OFFSET}"
        ));
    }
    let flags = u16::from_le_bytes(field(bytes, LOCK_FLAGS_OFFSET)?);
    if flags & !FLAG_RELEASED != 0 || u16::from_le_bytes(field(bytes, LOCK_RESERVED_OFFSET)?) != 0 {
        return Err("unknown flags or reserved bits set".into());
    }
    let host = bytes.get(LOCK_HOST_OFFSET..crc_offset).unwrap_or_default();
    Ok(Owner {
        epoch: Epoch(u64::from_le_bytes(field(bytes, LOCK_EPOCH_OFFSET)?)),
        pid: u32::from_le_bytes(field(bytes, LOCK_PID_OFFSET)?),
        host: String::from_utf8_lossy(host).into_owned(),
        nonce: u64::from_le_bytes(field(bytes, LOCK_NONCE_OFFSET)?),
        heartbeat_ms: u64::from_le_bytes(field(bytes, LOCK_HEARTBEAT_OFFSET)?),
        lease_ms: u64::from_le_bytes(field(bytes, LOCK_LEASE_OFFSET)?),
        released: flags & FLAG_RELEASED != 0,
    })
}
