//! The byte layout every file flowsight writes to its cache shares: a magic string, a
//! length-prefixed header, then the payload's length, its CRC-32 and the payload. Readers
//! check the header (versions, root) before they trust any byte of the payload.

/// `magic`, the header's length (u32 LE) and bytes, the payload's length (u64 LE), its CRC-32
/// (u32 LE) and bytes.
pub fn frame(magic: &[u8], header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(magic.len() + 4 + header.len() + 12 + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The parts of framed bytes: the header, and the payload or why it cannot be trusted
/// (`truncated`, `trailing bytes`, `checksum mismatch`), reported after the header is checked.
pub struct Framed<'a> {
    pub header: &'a [u8],
    pub payload: Result<&'a [u8], &'static str>,
}

/// Splits `bytes` framed with `magic`; `Err` when the magic or the header is missing
/// (`wrong magic`, `truncated`).
pub fn unframe<'a>(bytes: &'a [u8], magic: &[u8]) -> Result<Framed<'a>, &'static str> {
    let rest = bytes.strip_prefix(magic).ok_or("wrong magic")?;
    let (length, rest) = split_u32(rest).ok_or("truncated")?;
    if rest.len() < length as usize {
        return Err("truncated");
    }
    let (header, rest) = rest.split_at(length as usize);
    let payload = (|| {
        let (length, rest) = split_u64(rest).ok_or("truncated")?;
        let (checksum, payload) = split_u32(rest).ok_or("truncated")?;
        if payload.len() as u64 != length {
            return Err(if (payload.len() as u64) < length { "truncated" } else { "trailing bytes" });
        }
        if crc32fast::hash(payload) != checksum {
            return Err("checksum mismatch");
        }
        Ok(payload)
    })();
    Ok(Framed { header, payload })
}

fn split_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

fn split_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_le_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_bytes_read_back_and_every_truncation_or_flipped_byte_is_refused() {
        let bytes = frame(b"MAGIC", b"header", b"payload bytes");
        let framed = unframe(&bytes, b"MAGIC").expect("frames");
        assert_eq!(framed.header, b"header");
        assert_eq!(framed.payload, Ok(&b"payload bytes"[..]));
        assert_eq!(unframe(&bytes, b"OTHER").err(), Some("wrong magic"));
        for cut in 0..bytes.len() {
            let refused = match unframe(&bytes[..cut], b"MAGIC") {
                Err(_) => true,
                Ok(framed) => framed.payload.is_err(),
            };
            assert!(refused, "cut at {cut}");
        }
        let payload_start = bytes.len() - b"payload bytes".len();
        for index in payload_start..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 1;
            assert_eq!(unframe(&flipped, b"MAGIC").map(|f| f.payload.err()), Ok(Some("checksum mismatch")));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(unframe(&longer, b"MAGIC").map(|f| f.payload.err()), Ok(Some("trailing bytes")));
    }
}
