//! A state's input or output as its StateEntered or StateExited event shows it.
//!
//! AWS records every state's input and output as JSON text. Rendered at every transition, the
//! text was most of the time of a machine that passes a large payload along (W7: 230 KB through
//! 50 Pass states each setting one member, 4,300 transitions a second, nearly all of it
//! serializing), while most runs read little of their history and `stepwise run` none of it. A
//! state whose output is its input with the result set at a member (ResultPath `$.a.b`)
//! records its output as that input's text and the member's new text; the whole text is
//! rendered from them when first read (stored, returned, written with `--history`), by
//! splicing the member into the input's text.

use once_cell::sync::OnceCell;
use std::sync::Arc;

/// An event's payload text: rendered, or an input with a member set, rendered when first read.
/// Cloning shares it.
#[derive(Clone)]
pub struct PayloadText(Arc<Inner>);

struct Inner {
    /// The text's length in bytes, known before it is rendered: the payload quota is checked
    /// on it at every exit.
    len: usize,
    /// once_cell's: made full, it is made so without a call (std's `OnceLock::from` goes
    /// through its initialization, a tenth of a short transition's work more).
    text: OnceCell<String>,
    /// Boxed: most texts are rendered at once, and their allocation stays small.
    set: Option<Box<SetMember>>,
    /// Whether the text is the engine's own rendering (compact, each object's keys once): only
    /// such a text is spliced into. 0 for a text given whole.
    compact: bool,
    /// How many member settings lie between this text and a rendered one: rendering follows
    /// them all, so a chain is cut at [`MAX_DEPTH`].
    depth: u8,
}

/// A payload that is `base` with the member at `names` set to `value` (JSON text).
struct SetMember {
    base: PayloadText,
    names: Arc<[String]>,
    value: String,
}

/// The longest chain of member settings kept unrendered: rendering one renders the chain
/// before it (each text is kept once rendered), and a long loop must not keep every step's.
const MAX_DEPTH: u8 = 32;

/// Below this size a payload is rendered at once: rendering it costs about what recording the
/// member costs.
pub(crate) const DEFERRED_MIN_BYTES: usize = 4096;

impl PayloadText {
    /// The engine's rendering of a value.
    #[inline]
    pub(crate) fn of(value: &serde_json::Value) -> Self {
        Self::full(crate::exec::to_text(value), true)
    }

    /// A text given whole (read back, or made by a test): never spliced into.
    #[inline]
    pub fn given(text: String) -> Self {
        Self::full(text, false)
    }

    #[inline]
    fn full(text: String, compact: bool) -> Self {
        PayloadText(Arc::new(Inner {
            len: text.len(),
            text: OnceCell::with_value(text),
            set: None,
            compact,
            depth: 0,
        }))
    }

    /// This payload with the member at `names` (all but the last naming objects that exist in
    /// it) set to `value`, `len` bytes in all once rendered, when the member can be recorded
    /// instead of rendering the whole: the payload is the engine's own rendering, at least
    /// [`DEFERRED_MIN_BYTES`] long, and not at the end of a long chain already.
    pub(crate) fn with_member(
        &self,
        names: &Arc<[String]>,
        value: String,
        len: usize,
    ) -> Option<Self> {
        // Setting the member this text set last: the same as setting it in that one's input
        // (where it was, or added last either way), so a loop setting one member (a counter,
        // a step) stays one setting from a rendered text however long it runs.
        let base = match &self.0.set {
            Some(s) if s.names == *names => &s.base,
            _ => self,
        };
        let b = &base.0;
        if !b.compact || b.depth >= MAX_DEPTH || b.len < DEFERRED_MIN_BYTES {
            return None;
        }
        Some(PayloadText(Arc::new(Inner {
            len,
            text: OnceCell::new(),
            set: Some(Box::new(SetMember {
                base: base.clone(),
                names: names.clone(),
                value,
            })),
            compact: true,
            depth: b.depth + 1,
        })))
    }

    /// The length in bytes of the text.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// Whether the text is empty (it never is for a JSON value).
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    /// The text, rendered now if it was not.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.text.get_or_init(|| match &self.0.set {
            Some(s) => s.render(),
            None => String::new(),
        })
    }

    /// The text, rendered now without keeping it if it was not: what writes a history once
    /// (a store's pages, `--history` lines) need not hold every rendered payload at once.
    pub fn rendered(&self) -> std::borrow::Cow<'_, str> {
        match (self.0.text.get(), &self.0.set) {
            (Some(text), _) => std::borrow::Cow::Borrowed(text),
            (None, Some(s)) => std::borrow::Cow::Owned(s.render()),
            (None, None) => std::borrow::Cow::Borrowed(""),
        }
    }

    /// Whether both are the same payload (shared, not only equal).
    #[inline]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Whether the whole text has not been rendered yet.
    #[cfg(test)]
    pub(crate) fn deferred(&self) -> bool {
        self.0.text.get().is_none()
    }
}

impl SetMember {
    fn render(&self) -> String {
        let base = self.base.as_str();
        match splice(base, &self.names, &self.value) {
            Some(text) => text,
            // Not reached for the engine's own texts (a unit test renders every shape both
            // ways); should one not splice, the value is built and rendered instead.
            None => rebuilt(base, &self.names, &self.value),
        }
    }
}

impl From<String> for PayloadText {
    fn from(text: String) -> Self {
        Self::given(text)
    }
}

impl Default for PayloadText {
    fn default() -> Self {
        Self::given(String::new())
    }
}

impl std::fmt::Debug for PayloadText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for PayloadText {
    fn eq(&self, other: &Self) -> bool {
        Self::ptr_eq(self, other) || self.as_str() == other.as_str()
    }
}

/// `base` (compact JSON text, each object's keys once) with the member at `names` set to
/// `value`: replaced where it is, or added last to its object. `None` when `base` does not
/// hold the objects on the way.
fn splice(base: &str, names: &[String], value: &str) -> Option<String> {
    let b = base.as_bytes();
    let (last, parents) = names.split_last()?;
    let mut at = 0;
    for name in parents {
        let (start, _) = find_member(b, at, name).ok()?;
        at = start;
    }
    // `added`: not there, added before the object's closing brace (after a comma unless the
    // object is empty).
    let (start, end, added) = match find_member(b, at, last) {
        Ok((start, end)) => (start, end, None),
        Err(Some((close, empty))) => (close, close, Some(!empty)),
        Err(None) => return None,
    };
    let mut out = String::with_capacity(b.len() + value.len() + last.len() + 8);
    out.push_str(&base[..start]);
    if let Some(comma) = added {
        if comma {
            out.push(',');
        }
        out.push_str(&member_key(last));
        out.push(':');
    }
    out.push_str(value);
    out.push_str(&base[end..]);
    Some(out)
}

/// A member's name as the engine writes it in an object (quoted and escaped): how splicing
/// finds it, writes it, and counts it. The engine's own writer, so a key here is the key in the
/// texts it splices.
pub(crate) fn member_key(name: &str) -> String {
    crate::deep::str_to_string(name)
}

/// In the object starting at `at`, the member `name`'s value as (start, end). When the object
/// has no such member: `Err(Some((index of its closing brace, whether it is empty)))`; when
/// there is no object at `at`: `Err(None)`.
#[allow(clippy::type_complexity)]
fn find_member(b: &[u8], at: usize, name: &str) -> Result<(usize, usize), Option<(usize, bool)>> {
    if b.get(at) != Some(&b'{') {
        return Err(None);
    }
    // Keys compared as the engine writes them.
    let key = member_key(name);
    let mut i = at + 1;
    if b.get(i) == Some(&b'}') {
        return Err(Some((i, true)));
    }
    loop {
        let key_end = skip_string(b, i).ok_or(None)?;
        if b.get(key_end) != Some(&b':') {
            return Err(None);
        }
        let start = key_end + 1;
        let end = skip_value(b, start).ok_or(None)?;
        if &b[i..key_end] == key.as_bytes() {
            return Ok((start, end));
        }
        match b.get(end) {
            Some(b',') => i = end + 1,
            Some(b'}') => return Err(Some((end, false))),
            _ => return Err(None),
        }
    }
}

/// The index after the string starting at `i` (its opening quote).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        j += memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[j] == b'"' {
            return Some(j + 1);
        }
        // An escape: the backslash and the character after it.
        j += 2;
    }
}

/// The index after the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let n = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']'))
                .unwrap_or(b.len() - i);
            Some(i + n)
        }
    }
}

/// [`splice`]'s result built as a value and rendered: slower, for any text.
fn rebuilt(base: &str, names: &[String], value: &str) -> String {
    use serde_json::Value;
    let (Ok(mut doc), Ok(value)) = (
        crate::deep::from_str::<Value>(base),
        crate::deep::from_str::<Value>(value),
    ) else {
        return base.to_string();
    };
    let mut node = &mut doc;
    for name in names {
        let Value::Object(m) = node else {
            return base.to_string();
        };
        node = m.entry(name.clone()).or_insert(Value::Null);
    }
    *node = value;
    crate::exec::to_text(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// `base` with `value` set at `names`, as the engine's merge does it.
    fn merged(base: &Value, names: &[&str], value: &Value) -> Value {
        let path: String = std::iter::once("$".to_string())
            .chain(names.iter().map(|n| format!("['{n}']")))
            .collect();
        let mut doc = base.clone();
        stepwise_asl::jsonpath::set(&mut doc, path.as_str(), value.clone()).expect("settable");
        doc
    }

    /// Every shape of member setting renders, spliced, exactly the text of the merged value;
    /// the length known before rendering is the text's.
    #[test]
    fn a_member_set_renders_as_the_merged_value() {
        let big = "x".repeat(DEFERRED_MIN_BYTES);
        let base = json!({
            "rows": [{"step": 1, "t": "a\"}{]["}, {"n": [1, {"step": {"k": "}"}}]}],
            "esc\"ape": {"ü": "\\\"", "empty": {}},
            "step": {"step": "inner"},
            "pad": big,
            "num": -1.5e300,
            "nul": null,
            "t": true,
        });
        let cases: &[(&[&str], Value)] = &[
            (&["step"], json!(5)),
            (&["new"], json!({"a": [1, "}"]})),
            (&["esc\"ape", "ü"], json!("ü\u{1}")),
            (&["esc\"ape", "empty", "first"], json!(1)),
            (&["esc\"ape", "added"], json!([])),
            (&["step", "step"], json!(null)),
            (&["num"], json!(0.1)),
            (&["nul"], json!({"x": "y"})),
            (&["t"], json!(false)),
            (&["pad"], json!("short")),
            (&["rows"], json!(2)),
        ];
        for (names, value) in cases {
            let names: Arc<[String]> = names.iter().map(|n| n.to_string()).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let want = crate::exec::to_text(&merged(&base, &refs, value));
            let payload = PayloadText::of(&base);
            let len = payload.len() + want.len() - payload.as_str().len();
            let set = payload
                .with_member(&names, crate::exec::to_text(value), len)
                .expect("deferred");
            assert!(set.deferred());
            assert_eq!(set.rendered(), want, "{refs:?}");
            assert!(set.deferred(), "rendered without keeping it");
            assert_eq!(set.as_str(), want, "{refs:?}");
            assert!(!set.deferred());
            assert_eq!(set.len(), set.as_str().len(), "{refs:?}");
            // By building the value too.
            let spliced = splice(payload.as_str(), &names, &crate::exec::to_text(value));
            assert_eq!(spliced.as_deref(), Some(want.as_str()));
            assert_eq!(
                rebuilt(payload.as_str(), &names, &crate::exec::to_text(value)),
                want
            );
        }
    }

    /// A chain of settings renders each step's text; setting the member set last replaces
    /// that setting; past [`MAX_DEPTH`] settings of other members the caller renders.
    #[test]
    fn chains_render_in_order_and_are_cut() {
        let mut doc = json!({"pad": "x".repeat(DEFERRED_MIN_BYTES), "a": 0});
        let mut payload = PayloadText::of(&doc);
        let mut texts = vec![];
        // Members b and c added (and then replaced) in turns, then `a` set twice over.
        let members = (1..=u64::from(MAX_DEPTH)).map(|i| ["b", "c"][i as usize % 2]);
        for (i, member) in members.chain(["a", "a"]).enumerate() {
            doc[member] = json!(i);
            let text = crate::exec::to_text(&doc);
            let names: Arc<[String]> = Arc::from(vec![member.to_string()]);
            let next = payload.with_member(&names, i.to_string(), text.len());
            if i == usize::from(MAX_DEPTH) {
                // The chain is full: rendered, and a new one starts from it.
                assert!(next.is_none(), "{i}");
                payload = PayloadText::of(&doc);
            } else {
                payload = next.expect("within the chain");
                let depth = if i < usize::from(MAX_DEPTH) { i + 1 } else { 1 };
                assert_eq!(usize::from(payload.0.depth), depth, "{i}");
            }
            texts.push((payload.clone(), text));
        }
        let a: Arc<[String]> = Arc::from(vec!["a".to_string()]);
        let once = payload
            .with_member(&a, "7".into(), payload.len())
            .expect("deferred");
        let twice = once
            .with_member(&a, "8".into(), payload.len())
            .expect("deferred");
        assert_eq!(twice.0.depth, 1);
        doc["a"] = json!(8);
        texts.push((twice, crate::exec::to_text(&doc)));
        for (p, text) in texts.iter().rev() {
            assert_eq!(p.as_str(), text);
        }
    }

    /// Only the engine's own, large enough renderings are recorded as member settings.
    #[test]
    fn small_and_given_texts_are_rendered_at_once() {
        let names: Arc<[String]> = Arc::from(vec!["a".to_string()]);
        let small = PayloadText::of(&json!({"a": 1}));
        assert!(small.with_member(&names, "2".into(), 7).is_none());
        let given = PayloadText::given(format!("{{\"a\" : \"{}\"}}", "x".repeat(5000)));
        assert!(given.with_member(&names, "2".into(), 7).is_none());
        assert!(!given.deferred());
    }

    /// A text that is not compact (given whole) is still set right by building the value.
    #[test]
    fn a_text_not_spliceable_is_rebuilt() {
        let names = ["a".to_string(), "b".to_string()];
        assert_eq!(splice("{ \"a\": {} }", &names, "1"), None);
        assert_eq!(rebuilt("{ \"a\": {} }", &names, "1"), "{\"a\":{\"b\":1}}");
        assert_eq!(splice("[1]", &names, "1"), None);
    }
}
