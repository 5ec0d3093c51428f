//! History events in a compact binary form, for stores that keep pages of them (the embedded
//! store's `event_pages`). A state's entry and plain exit, most of any history, are written as
//! their parts: ids and timestamp as varints, the state type as a byte, the name and the
//! input/output text as raw bytes, each written once when the event before carried the same one
//! (a state's output is the next state's input), and a text that differs from the one before only
//! in its middle (`{"n":5,…}` after `{"n":4,…}`) as that middle. Their JSON form escaped every
//! text and spelled out every key, and a page of it was several times as much for the compressor
//! and the database to copy: building and compressing pages was a sixth of what `serve` spent per
//! execution. Any other event is kept as its stored JSON object. Reading gives events equal to
//! the ones written.

use super::{Direct, HistoryEvent, PayloadText, STATE_TYPES};
use std::sync::Arc;

/// A text written as the text before with its middle replaced: (kept prefix, kept suffix,
/// middle), written when at least this much is kept.
const EDIT_KEEPS: usize = 8;

/// An event kept as its stored JSON object (length, text).
const JSON: u8 = 0;
/// A state's entry: id, previous id, timestamp (each as its difference from the event before
/// on the page: most are 1, 1 and 0, a byte each), state type, name, input.
const ENTERED: u8 = 1;
/// A state's plain exit: the same with its output.
const EXITED: u8 = 2;

/// What a page writer remembers of the event before, so that a repeated name or text is
/// written as a reference instead of again, a text like the one before as an edit of it. One
/// per page.
/// It borrows the events it has seen (no reference counts to move per event).
#[derive(Default)]
pub struct PackMemo<'a> {
    id: u64,
    timestamp_ms: i64,
    name: Option<&'a str>,
    /// The text before and its rendering (made for this page only when the payload had not
    /// been rendered: a long step's pages do not keep every payload rendered at once).
    text: Option<(&'a PayloadText, std::borrow::Cow<'a, str>)>,
    json: Vec<u8>,
}

/// Why bytes are not a packed page.
#[derive(Debug, thiserror::Error)]
pub enum PackedError {
    /// It ends in the middle of an event.
    #[error("a packed history page ends inside an event")]
    Truncated,
    /// An event's kind or state type is none this version writes.
    #[error("a packed history page has an unknown {0}")]
    Unknown(&'static str),
    /// A repeated name or text with no event before it.
    #[error("a packed history page repeats a {0} before any")]
    NoEarlier(&'static str),
    /// A name or text that is not UTF-8.
    #[error("a packed history page has a {0} that is not UTF-8")]
    NotUtf8(&'static str),
    /// An event kept as JSON that does not read as one.
    #[error("a packed history page has an event that is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

/// A signed number as an unsigned one, small either side of zero.
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A name as written: 0 for "the same as the event before", else its length plus one.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64 + 1);
    out.extend_from_slice(bytes);
}

/// How many bytes `a` and `b` begin with alike, compared eight at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let differ = u64::from_le_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if differ != 0 {
            return n + differ.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many bytes `a` and `b` end with alike, compared eight at a time.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.rchunks_exact(8).zip(b.rchunks_exact(8)) {
        let differ = u64::from_be_bytes(x.try_into().unwrap_or_default())
            ^ u64::from_be_bytes(y.try_into().unwrap_or_default());
        if differ != 0 {
            return n + differ.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + a[..a.len() - n]
        .iter()
        .rev()
        .zip(b[..b.len() - n].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// A text as written: 0 for "the same as the event before"; 1 for an edit of it (the length
/// of its prefix and of its suffix kept, the middle's length and bytes); else its length plus
/// two, then its bytes.
fn put_text(out: &mut Vec<u8>, text: &[u8], before: Option<&[u8]>) {
    if let Some(before) = before {
        let prefix = common_prefix(text, before);
        let suffix = common_suffix(&text[prefix..], &before[prefix..]);
        if prefix + suffix >= EDIT_KEEPS {
            out.push(1);
            put_varint(out, prefix as u64);
            put_varint(out, suffix as u64);
            put_bytes(out, &text[prefix..text.len() - suffix]);
            return;
        }
    }
    put_varint(out, text.len() as u64 + 2);
    out.extend_from_slice(text);
}

impl HistoryEvent {
    /// Appends the event in packed form to `out`; `memo` is the page's (see [`PackMemo`]).
    pub fn write_packed<'a>(
        &'a self,
        out: &mut Vec<u8>,
        memo: &mut PackMemo<'a>,
    ) -> serde_json::Result<()> {
        let direct = Direct::of(&self.details).map(|d| {
            let ty = d.state_type;
            (d, ty)
        });
        let Some((d, ty)) = direct else {
            memo.json.clear();
            serde_json::to_writer(&mut memo.json, self)?;
            out.push(JSON);
            put_bytes(out, &memo.json);
            return Ok(());
        };
        out.push(if d.exited { EXITED } else { ENTERED });
        // Differences wrap: any ids and timestamps read back as they were.
        put_varint(out, zigzag(self.id.wrapping_sub(memo.id) as i64));
        put_varint(
            out,
            zigzag(self.id.wrapping_sub(self.previous_event_id) as i64),
        );
        put_varint(
            out,
            zigzag(self.timestamp_ms.wrapping_sub(memo.timestamp_ms)),
        );
        memo.id = self.id;
        memo.timestamp_ms = self.timestamp_ms;
        out.push(ty);
        if memo.name == Some(&**d.name) {
            out.push(0);
        } else {
            put_bytes(out, d.name.as_bytes());
            memo.name = Some(d.name);
        }
        if memo
            .text
            .as_ref()
            .is_some_and(|(t, _)| PayloadText::ptr_eq(t, d.text))
        {
            out.push(0);
        } else {
            let text = d.text.rendered();
            put_text(
                out,
                text.as_bytes(),
                memo.text.as_ref().map(|(_, before)| before.as_bytes()),
            );
            memo.text = Some((d.text, text));
        }
        Ok(())
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PackedError> {
        let (&first, rest) = self.b.split_first().ok_or(PackedError::Truncated)?;
        self.b = rest;
        Ok(first)
    }

    fn varint(&mut self) -> Result<u64, PackedError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(PackedError::Unknown("number"))
    }

    /// `None` for a reference to the one before.
    fn bytes(&mut self) -> Result<Option<&'a [u8]>, PackedError> {
        let len = self.varint()?;
        if len == 0 {
            return Ok(None);
        }
        self.slice(len - 1).map(Some)
    }

    fn name(&mut self) -> Result<Option<&'a str>, PackedError> {
        self.bytes()?
            .map(|b| std::str::from_utf8(b).map_err(|_| PackedError::NotUtf8("name")))
            .transpose()
    }

    fn slice(&mut self, len: u64) -> Result<&'a [u8], PackedError> {
        let len = usize::try_from(len).map_err(|_| PackedError::Truncated)?;
        if len > self.b.len() {
            return Err(PackedError::Truncated);
        }
        let (bytes, rest) = self.b.split_at(len);
        self.b = rest;
        Ok(bytes)
    }

    /// A text ([`put_text`]); `None` for the one before.
    fn text(&mut self, before: Option<&str>) -> Result<Option<String>, PackedError> {
        let bytes = match self.varint()? {
            0 => return Ok(None),
            1 => {
                let before = before.ok_or(PackedError::NoEarlier("text"))?.as_bytes();
                let prefix = usize::try_from(self.varint()?).map_err(|_| PackedError::Truncated)?;
                let suffix = usize::try_from(self.varint()?).map_err(|_| PackedError::Truncated)?;
                let middle = self.bytes()?.ok_or(PackedError::Unknown("edit"))?;
                if prefix
                    .checked_add(suffix)
                    .is_none_or(|kept| kept > before.len())
                {
                    return Err(PackedError::Unknown("edit"));
                }
                let mut text = Vec::with_capacity(prefix + middle.len() + suffix);
                text.extend_from_slice(&before[..prefix]);
                text.extend_from_slice(middle);
                text.extend_from_slice(&before[before.len() - suffix..]);
                text
            }
            len => self.slice(len - 2)?.to_vec(),
        };
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| PackedError::NotUtf8("text"))
    }
}

/// The events of a packed page, in order; a repeated name or text is one shared `Arc`.
pub fn read_packed(bytes: &[u8]) -> Result<Vec<HistoryEvent>, PackedError> {
    let mut r = Reader { b: bytes };
    let mut events = Vec::new();
    let (mut last_id, mut last_timestamp) = (0u64, 0i64);
    let mut name: Option<Arc<str>> = None;
    let mut text: Option<PayloadText> = None;
    while !r.b.is_empty() {
        let tag = r.byte()?;
        if tag == JSON {
            let json = r.bytes()?.ok_or(PackedError::NoEarlier("event"))?;
            events.push(crate::deep::from_slice(json)?);
            continue;
        }
        if tag != ENTERED && tag != EXITED {
            return Err(PackedError::Unknown("kind of event"));
        }
        let id = last_id.wrapping_add(unzigzag(r.varint()?) as u64);
        let previous = id.wrapping_sub(unzigzag(r.varint()?) as u64);
        let timestamp = last_timestamp.wrapping_add(unzigzag(r.varint()?));
        (last_id, last_timestamp) = (id, timestamp);
        let state_type = r.byte()?;
        if usize::from(state_type) >= STATE_TYPES.len() {
            return Err(PackedError::Unknown("state type"));
        }
        if let Some(n) = r.name()? {
            name = Some(n.into());
        }
        if let Some(t) = r.text(text.as_ref().map(PayloadText::as_str))? {
            text = Some(PayloadText::given(t));
        }
        events.push(HistoryEvent::state_event(
            id,
            previous,
            timestamp,
            tag == EXITED,
            state_type,
            name.clone().ok_or(PackedError::NoEarlier("name"))?,
            text.clone().ok_or(PackedError::NoEarlier("text"))?,
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time comparisons agree with byte-at-a-time ones.
    #[test]
    fn common_ends_are_counted_bytewise() {
        let texts: [&[u8]; 8] = [
            b"",
            b"a",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgX",
            b"{\"n\":5,\"tag\":\"s4\",\"keep\":{\"a\":[1,2,3]}}",
            b"{\"n\":6,\"tag\":\"s5\",\"keep\":{\"a\":[1,2,3]}}",
            b"Xbcdefghabcdefgh",
        ];
        for a in texts {
            for b in texts {
                let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                let suffix = a
                    .iter()
                    .rev()
                    .zip(b.iter().rev())
                    .take_while(|(x, y)| x == y)
                    .count();
                assert_eq!(common_prefix(a, b), prefix, "{a:?} {b:?}");
                assert_eq!(common_suffix(a, b), suffix, "{a:?} {b:?}");
            }
        }
    }
    use crate::history::{state_type_index, Details, EventKind};
    use serde_json::{Map, Value};

    fn page(events: &[&HistoryEvent]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut memo = PackMemo::default();
        for e in events {
            e.write_packed(&mut out, &mut memo).expect("writes");
        }
        out
    }

    /// Every kind of event reads back equal to the one written (same type, ids, timestamp and
    /// details object), its stored JSON the same text: shared and unshared texts and names,
    /// quotes, control characters and non-ASCII, a timestamp before 1970, large ids, an event
    /// whose details were built already, an unknown state type, events that are not states'.
    #[test]
    fn events_read_back_as_they_were_written() {
        let shared = PayloadText::given("{\"a\":\"line\\nbreak \\\"q\\\" \u{e9}\"}".to_string());
        let name: Arc<str> = "P \"quoted\" \u{1}".into();
        let built =
            HistoryEvent::state_event(9, 8, 11, true, ty("Pass"), name.clone(), shared.clone());
        let _ = built.details();
        let mut vars = Map::new();
        vars.insert("x".into(), Value::from(1));
        let events = [
            HistoryEvent::state_event(1, 0, -5, false, ty("Pass"), name.clone(), shared.clone()),
            HistoryEvent::state_event(2, 1, 6, true, ty("Pass"), name.clone(), shared.clone()),
            HistoryEvent::state_event(3, 2, 7, false, ty("Task"), "T".into(), shared.clone()),
            HistoryEvent::state_event(
                4,
                3,
                8,
                true,
                ty("Task"),
                "T".into(),
                PayloadText::given("[1]".into()),
            ),
            HistoryEvent::state_event(5, 4, i64::MAX, false, ty("Map"), "M".into(), shared.clone()),
            HistoryEvent::recorded(
                6,
                5,
                i64::MIN,
                EventKind::StateExited {
                    state_type: "Pass",
                    name: "V".into(),
                    output: "{}".into(),
                    assigned: Some(vars),
                },
            ),
            HistoryEvent::new(u64::MAX, 6, 10, "ExecutionSucceeded".into(), None),
            HistoryEvent::recorded(
                8,
                7,
                11,
                EventKind::StateEntered {
                    state_type: "Other",
                    name: "O".into(),
                    input: shared.as_str().to_string(),
                },
            ),
            built,
            HistoryEvent::state_event(10, 9, 12, false, ty("Choice"), name, "".to_string().into()),
            // Differences past the ends of the types wrap and read back.
            HistoryEvent::state_event(
                u64::MAX - 1,
                3,
                i64::MIN,
                true,
                ty("Wait"),
                "W".into(),
                shared.clone(),
            ),
            HistoryEvent::state_event(
                2,
                u64::MAX,
                i64::MAX,
                false,
                ty("Wait"),
                "W".into(),
                shared.clone(),
            ),
        ];
        let refs: Vec<&HistoryEvent> = events.iter().collect();
        let back = read_packed(&page(&refs)).expect("reads");
        assert_eq!(back.len(), events.len());
        for (b, e) in back.iter().zip(&events) {
            assert_eq!(b, e);
            assert_eq!(
                serde_json::to_string(b).expect("writes"),
                serde_json::to_string(e).expect("writes")
            );
        }
        // The exit's text and the next entry's: written once, read back as one.
        assert!(PayloadText::ptr_eq(&text_of(&back[0]), &text_of(&back[1])));
    }

    fn text_of(e: &HistoryEvent) -> PayloadText {
        match &e.details {
            Details::State { text, .. } => text.clone(),
            _ => panic!("not a state event"),
        }
    }

    /// A state type's byte.
    fn ty(state_type: &str) -> u8 {
        state_type_index(state_type).expect("a state type") as u8
    }

    /// A text written once is not written again for the events that share it.
    #[test]
    fn a_shared_text_is_written_once() {
        let text = PayloadText::given("x".repeat(1000));
        let a = HistoryEvent::state_event(1, 0, 0, false, ty("Pass"), "A".into(), text.clone());
        let b = HistoryEvent::state_event(2, 1, 0, true, ty("Pass"), "A".into(), text.clone());
        let c = HistoryEvent::state_event(3, 2, 0, false, ty("Pass"), "B".into(), text);
        let bytes = page(&[&a, &b, &c]);
        assert!(bytes.len() < 1100, "{} bytes", bytes.len());
        // Nor is what an edited text keeps of the one before.
        let edited = PayloadText::given(format!("{}y{}", "x".repeat(500), "x".repeat(499)));
        let d = HistoryEvent::state_event(4, 3, 0, true, ty("Pass"), "B".into(), edited);
        let more = page(&[&a, &b, &c, &d]);
        assert!(
            more.len() - bytes.len() < 20,
            "{} bytes",
            more.len() - bytes.len()
        );
        assert_eq!(read_packed(&more).expect("reads")[3], d);
    }

    /// Bytes that are not a page give an error, never a panic or a wrong event.
    #[test]
    fn broken_pages_are_errors() {
        let e = HistoryEvent::state_event(
            1,
            0,
            0,
            false,
            ty("Pass"),
            "A".into(),
            "{}".to_string().into(),
        );
        let good = page(&[&e]);
        for cut in 0..good.len() {
            if cut > 0 {
                assert!(read_packed(&good[..cut]).is_err(), "cut at {cut}");
            }
        }
        // Two events: "A" entered with {"ab":"é"}, then exited with the text given.
        let with_text = |text: &[u8]| {
            let before = "{\"ab\":\"é\"}".as_bytes();
            let mut p = vec![ENTERED, 2, 2, 0, 0, 2, b'A', before.len() as u8 + 2];
            p.extend_from_slice(before);
            p.extend_from_slice(&[EXITED, 2, 2, 0, 0, 0]);
            p.extend_from_slice(text);
            p
        };
        assert_eq!(
            read_packed(&with_text(&[1, 7, 2, 2, b'x'])).expect("an edit")[1]
                .details()
                .and_then(|d| d["output"].as_str().map(str::to_string)),
            Some("{\"ab\":\"x\"}".to_string())
        );
        let cases: [&[u8]; 6] = [
            &[9],
            &[ENTERED, 1, 0, 0, 200, 2, b'A', 4, b'{', b'}'],
            &[ENTERED, 1, 0, 0, 0, 0, 4, b'{', b'}'],
            &[ENTERED, 1, 0, 0, 0, 2, 0xff, 4, b'{', b'}'],
            &[JSON, 3, b'{', b'}'],
            &[
                ENTERED, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ];
        let edits = [
            // An edit with no text before it.
            vec![ENTERED, 1, 0, 0, 0, 2, b'A', 1, 0, 0, 1],
            // Keeping more than the text before has.
            with_text(&[1, 9, 3, 1]),
            with_text(&[1, u8::MAX, 1, 1, 1]),
            // Cutting "é" in two.
            with_text(&[1, 8, 0, 1]),
            // A raw text cut short.
            with_text(&[30, b'x']),
        ];
        for c in edits {
            assert!(read_packed(&c).is_err(), "{c:?}");
        }
        for c in cases {
            assert!(read_packed(c).is_err(), "{c:?}");
        }
        assert!(read_packed(&[]).expect("reads").is_empty());
    }
}
