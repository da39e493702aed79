//! Server-sent events as they pass through the proxy: bytes are cut into whole events
//! (a blank line ends one) so each can be read, and dropped when it must be hidden, without
//! changing the bytes of the others.

/// Splits a byte stream into complete events, keeping a partial one for the next chunk.
#[derive(Debug, Default)]
pub struct EventSplitter {
    pending: Vec<u8>,
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
        while let Some(end) = event_end(&self.pending) {
            events.push(self.pending.drain(..end).collect());
        }
        events
    }

    /// What is left when the stream ends (an event without its closing blank line).
    pub fn finish(&mut self) -> Option<Vec<u8>> {
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
    fn parse_reads_name_and_multi_line_data() {
        let ev = parse(b"event: message_delta\ndata: {\"a\":\ndata: 1}\n: comment\n\n");
        assert_eq!(ev.name.as_deref(), Some("message_delta"));
        assert_eq!(ev.data, "{\"a\":\n1}");
        assert_eq!(parse(b"data:[DONE]\n\n").data, "[DONE]");
    }
}
