//! Server-sent events as they pass through the proxy: bytes are cut into whole events
//! (a blank line ends one) so each can be read, and dropped when it must be hidden, without
//! changing the bytes of the others.

/// One event is held at most this long while waiting for its end; past it the bytes go on
/// unread, so a stream without blank lines cannot grow memory.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// Splits a byte stream into complete events, keeping a partial one for the next chunk.
#[derive(Debug, Default)]
pub struct EventSplitter {
    pending: Vec<u8>,
    /// How much of `pending` has been searched for an event's end already.
    scanned: usize,
}

/// Where the blank line that ends an event is: the index after it, allowing `\n\n`,
/// `\r\n\r\n` and `\r\r`.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            b'\n' if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') => {
                return Some(i + 3)
            }
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
        i += 1;
    }
    None
}

impl EventSplitter {
    /// Adds a chunk and returns the raw bytes of every event it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        loop {
            // Only new bytes are searched, from two before them: an end is at most three
            // bytes long and was not complete before this chunk.
            let from = self.scanned.saturating_sub(2);
            match event_end(&self.pending[from..]) {
                Some(end) => {
                    events.push(self.pending.drain(..from + end).collect());
                    self.scanned = 0;
                }
                None => {
                    self.scanned = self.pending.len();
                    break;
                }
            }
        }
        if self.pending.len() > MAX_EVENT_BYTES {
            events.push(std::mem::take(&mut self.pending));
            self.scanned = 0;
        }
        events
    }

    /// What is left when the stream ends (an event without its closing blank line).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.scanned = 0;
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

/// The `event:` name and joined `data:` lines of one raw event.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

pub fn parse(raw: &[u8]) -> Event {
    let text = String::from_utf8_lossy(raw);
    let mut ev = Event::default();
    let mut data: Vec<&str> = Vec::new();
    for line in text.split(['\n', '\r']) {
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => ev.name = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    ev.data = data.join("\n");
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_cut_at_blank_lines_across_chunks() {
        let mut s = EventSplitter::default();
        assert!(s.push(b"data: {\"a\"").is_empty());
        let evs = s.push(b":1}\n\ndata: [DONE]\n\nevent: x\r\ndata: y\r\n\r\ntail");
        assert_eq!(
            evs,
            vec![
                b"data: {\"a\":1}\n\n".to_vec(),
                b"data: [DONE]\n\n".to_vec(),
                b"event: x\r\ndata: y\r\n\r\n".to_vec()
            ]
        );
        assert_eq!(s.finish(), Some(b"tail".to_vec()));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn ends_split_across_chunks_are_found_byte_by_byte() {
        for end in [&b"\n\n"[..], b"\r\n\r\n", b"\r\r"] {
            let mut s = EventSplitter::default();
            let mut out = Vec::new();
            for b in b"data: 1"
                .iter()
                .chain(end)
                .chain(b"data: 2".iter())
                .chain(end)
            {
                out.extend(s.push(&[*b]));
            }
            assert_eq!(out.len(), 2, "{end:?}");
            assert_eq!(out[0], [&b"data: 1"[..], end].concat());
        }
    }

    #[test]
    fn an_endless_event_is_passed_on_not_held() {
        let mut s = EventSplitter::default();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut out = Vec::new();
        for _ in 0..5 {
            out.extend(s.push(&chunk));
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), 5 * 1024 * 1024);
        assert!(s.finish().is_none());
    }

    #[test]
    fn parse_reads_name_and_multi_line_data() {
        let ev = parse(b"event: message_delta\ndata: {\"a\":\ndata: 1}\n: comment\n\n");
        assert_eq!(ev.name.as_deref(), Some("message_delta"));
        assert_eq!(ev.data, "{\"a\":\n1}");
        assert_eq!(parse(b"data:[DONE]\n\n").data, "[DONE]");
    }
}
