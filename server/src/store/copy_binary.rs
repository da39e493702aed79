//! PostgreSQL's binary `COPY` format, written into a buffer: the cheapest way to hand rows to
//! the database (no SQL to parse, no text to convert, multi-row inserts on the server).
//! Values use the types' binary send formats; see the `COPY` page of the PostgreSQL manual.

use chrono::{DateTime, Utc};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// One `COPY … FROM STDIN (FORMAT binary)` payload being built.
pub struct CopyBuffer {
    buf: Vec<u8>,
}

impl CopyBuffer {
    /// Starts a payload with the format's signature, flags and header extension.
    pub fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + 19);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags: no OIDs
        buf.extend_from_slice(&0i32.to_be_bytes()); // no header extension
        CopyBuffer { buf }
    }

    /// Starts a row of `fields` values; exactly that many must follow.
    pub fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        // A field longer than i32::MAX cannot be sent; the request body limit keeps every
        // value far below it.
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }

    /// `text`.
    pub fn text(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.field(s.as_bytes()),
            None => self.null(),
        }
    }

    /// `int8`.
    pub fn int8(&mut self, v: Option<i64>) {
        match v {
            Some(n) => self.field(&n.to_be_bytes()),
            None => self.null(),
        }
    }

    /// `int4`.
    pub fn int4(&mut self, v: Option<i32>) {
        match v {
            Some(n) => self.field(&n.to_be_bytes()),
            None => self.null(),
        }
    }

    /// `int2`.
    pub fn int2(&mut self, v: Option<i16>) {
        match v {
            Some(n) => self.field(&n.to_be_bytes()),
            None => self.null(),
        }
    }

    /// `float8`.
    pub fn float8(&mut self, v: Option<f64>) {
        match v {
            Some(x) => self.field(&x.to_bits().to_be_bytes()),
            None => self.null(),
        }
    }

    /// `timestamptz`: microseconds since 2000-01-01 UTC.
    pub fn timestamptz(&mut self, v: DateTime<Utc>) {
        let micros = v.timestamp_micros() - PG_EPOCH_MICROS;
        self.field(&micros.to_be_bytes());
    }

    /// `jsonb` from its JSON text: a version byte (1), then the text.
    pub fn jsonb(&mut self, json: Option<&str>) {
        match json {
            Some(s) => {
                let len = i32::try_from(s.len() + 1).unwrap_or(i32::MAX);
                self.buf.extend_from_slice(&len.to_be_bytes());
                self.buf.push(1);
                self.buf.extend_from_slice(s.as_bytes());
            }
            None => self.null(),
        }
    }

    /// Ends the payload with the trailer; the bytes to send.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

    #[test]
    fn an_empty_payload_is_header_and_trailer() {
        let bytes = CopyBuffer::new(0).finish();
        assert_eq!(&bytes[..HEADER.len()], HEADER);
        assert_eq!(&bytes[HEADER.len()..], &[0xff, 0xff]);
    }

    #[test]
    fn fields_are_length_prefixed_big_endian_and_null_is_minus_one() {
        let mut b = CopyBuffer::new(64);
        b.row(4);
        b.text(Some("hé"));
        b.int8(Some(-2));
        b.int2(None);
        b.float8(Some(1.5));
        let bytes = b.finish();
        let body = &bytes[HEADER.len()..bytes.len() - 2];
        let mut want = vec![0, 4];
        want.extend_from_slice(&[0, 0, 0, 3, b'h', 0xc3, 0xa9]);
        want.extend_from_slice(&[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&[0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(body, want.as_slice());
    }

    #[test]
    fn timestamps_count_microseconds_from_2000() {
        let mut b = CopyBuffer::new(16);
        b.timestamptz(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap());
        let bytes = b.finish();
        assert_eq!(
            &bytes[HEADER.len()..HEADER.len() + 12],
            &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]
        );
        let mut before = CopyBuffer::new(16);
        before.timestamptz(Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap());
        let bytes = before.finish();
        assert_eq!(
            &bytes[HEADER.len() + 4..HEADER.len() + 12],
            &(-1_000_000i64).to_be_bytes()
        );
    }

    #[test]
    fn jsonb_carries_its_version_byte() {
        let mut b = CopyBuffer::new(16);
        b.jsonb(Some("{}"));
        b.jsonb(None);
        let bytes = b.finish();
        assert_eq!(
            &bytes[HEADER.len()..bytes.len() - 2],
            &[0, 0, 0, 3, 1, b'{', b'}', 0xff, 0xff, 0xff, 0xff]
        );
    }
}
