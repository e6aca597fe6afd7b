//! Records appended but not yet taken by a group-commit leader.

use crate::lock::Epoch;
use crate::wal::frame::{
    encode_frame, Frame, MAX_PAYLOAD_BYTES, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use crate::wal::{Lsn, WalError, WalOptions};

/// Framed records not yet taken by a flush, grouped by the segment they go to.
#[derive(Debug)]
pub(crate) struct PendingWrites {
    pub(crate) chunks: Vec<(Lsn, Vec<u8>)>,
    pub(crate) bytes: usize,
    pub(crate) epoch: Epoch,
    /// First LSN and logical length (written + pending) of the segment appends go to.
    pub(crate) tail_first_lsn: Lsn,
    pub(crate) tail_len: u64,
    pub(crate) options: WalOptions,
}

impl PendingWrites {
    pub(crate) fn push(
        &mut self,
        lsn: Lsn,
        durable_lsn: Lsn,
        payload: &[u8],
    ) -> Result<(), WalError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(WalError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        if self.bytes >= self.options.max_pending_bytes {
            return Err(WalError::PendingFull {
                pending_bytes: self.bytes,
                limit: self.options.max_pending_bytes,
            });
        }
        let frame_len = (RECORD_HEADER_LEN + payload.len()) as u64;
        let tail_has_records = self.tail_len > SEGMENT_HEADER_LEN as u64;
        if tail_has_records && self.tail_len + frame_len > self.options.segment_max_bytes {
            self.tail_first_lsn = lsn;
            self.tail_len = SEGMENT_HEADER_LEN as u64;
        }
        let frame = Frame {
            lsn,
            epoch: self.epoch,
            durable_lsn,
            payload,
        };
        match self.chunks.last_mut() {
            Some((first, bytes)) if *first == self.tail_first_lsn => encode_frame(&frame, bytes),
            _ => {
                let mut bytes = Vec::with_capacity(frame.encoded_len());
                encode_frame(&frame, &mut bytes);
                self.chunks.push((self.tail_first_lsn, bytes));
            }
        }
        self.tail_len += frame_len;
        self.bytes += frame_len as usize;
        Ok(())
    }

    pub(crate) fn take(&mut self) -> Vec<(Lsn, Vec<u8>)> {
        self.bytes = 0;
        std::mem::take(&mut self.chunks)
    }
}
