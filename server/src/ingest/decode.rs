//! Bounded decompression: a gzip bomb or a truncated object is reported, never trusted.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

/// The two magic bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Wraps `reader` so that gzip input (sniffed, not guessed from a file name) is decompressed,
/// multi-member streams included, and no more than `limit` decompressed bytes are produced.
/// Plain input is read as it comes: it expands to nothing more than itself, and its source
/// bounds it (a file's size, a request body's limit). An 11 GB file of a month's flows
/// stopped at the gzip limit, and its last two thirds were lost.
pub fn maybe_gunzip<'a, R: Read + 'a>(reader: R, limit: u64) -> io::Result<Box<dyn BufRead + 'a>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf()?;
    if is_gzip(head) {
        let decoder = MultiGzDecoder::new(buffered);
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            Limited::new(decoder, limit),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Decompresses a whole gzip buffer, up to `limit` bytes.
pub fn gunzip(bytes: &[u8], limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Limited::new(MultiGzDecoder::new(bytes), limit).read_to_end(&mut out)?;
    Ok(out)
}

/// A reader that fails with [`io::ErrorKind::FileTooLarge`] once `limit` bytes have been read.
pub struct Limited<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R> Limited<R> {
    /// Reads `inner`, failing once more than `limit` bytes have been read.
    pub fn new(inner: R, limit: u64) -> Self {
        Limited {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            // Anything more is over the limit; nothing more at all is a clean end.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("input expands beyond the limit of {} bytes", self.limit),
                )),
            };
        }
        let max = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let read = self.inner.read(&mut buf[..max])?;
        self.remaining -= read as u64;
        Ok(read)
    }
}

/// Turns a decompression error into words a user can act on.
pub fn describe_read_error(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => "the gzip stream is truncated".to_owned(),
        io::ErrorKind::FileTooLarge => error.to_string(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("the input is corrupt: {error}")
        }
        _ => format!("read error: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn plain_and_gzip_read_alike() {
        let text = b"line one\nline two\n".to_vec();
        for input in [text.clone(), gzip(&text)] {
            let mut out = String::new();
            maybe_gunzip(&input[..], 1 << 20)
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out.as_bytes(), text);
        }
    }

    #[test]
    fn only_gzip_input_is_bounded_by_its_expansion() {
        let text = vec![b'x'; 1000];
        let mut out = Vec::new();
        maybe_gunzip(&text[..], 10)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text, "plain input is read whole, however long");
        let error = maybe_gunzip(&gzip(&text)[..], 10)
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut input = gzip(b"a\n");
        input.extend(gzip(b"b\n"));
        assert_eq!(gunzip(&input, 100).unwrap(), b"a\nb\n");
    }

    #[test]
    fn bombs_stop_at_the_limit() {
        let bomb = gzip(&vec![b'x'; 10 << 20]);
        assert!(bomb.len() < 64 * 1024);
        let error = gunzip(&bomb, 1 << 20).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert!(describe_read_error(&error).contains("limit"));
        // Exactly at the limit is fine.
        assert_eq!(gunzip(&gzip(b"12345"), 5).unwrap(), b"12345");
    }

    #[test]
    fn truncated_gzip_is_reported() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let full = gzip(&data);
        let error = gunzip(&full[..full.len() / 2], 1 << 30).unwrap_err();
        assert_eq!(describe_read_error(&error), "the gzip stream is truncated");
    }
}
