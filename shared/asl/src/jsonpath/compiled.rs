//! Paths of a definition, compiled once when it loads.
//!
//! [`JsonPath`] keeps the text (messages quote it) and the compiled [`Path`], or the syntax
//! error, which is reported when the path is evaluated, as if it were compiled then. The
//! evaluation functions take any [`AsPath`]: a [`JsonPath`] from the model, or plain text that
//! is compiled on the spot.

use super::*;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A path from a definition: its text and what it compiled to.
#[derive(Debug, Clone)]
pub struct JsonPath {
    text: String,
    // Shared: definitions are cloned, and a compiled path never changes.
    compiled: Arc<Result<Path, PathSyntaxError>>,
}

impl JsonPath {
    /// Compiles `text`; a syntax error is kept and reported at evaluation.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let compiled = Arc::new(Path::parse(&text));
        Self { text, compiled }
    }

    /// The member names, in order, of a path of names only from the state's input (`$.a.b`,
    /// `$['a']`); `None` for any other path, `$` included.
    pub fn members(&self) -> Option<&Arc<[String]>> {
        self.compiled.as_ref().as_ref().ok()?.members.as_ref()
    }

    /// The path as written in the definition.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PartialEq<str> for JsonPath {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for JsonPath {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl Deref for JsonPath {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for JsonPath {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl From<String> for JsonPath {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

/// Something that names a path: its text, and the compiled path.
pub trait AsPath {
    /// The text, as messages quote it.
    fn text(&self) -> &str;
    /// The compiled path (compiled now for plain text).
    fn compiled(&self) -> Result<Cow<'_, Path>, PathSyntaxError>;
    /// The path compiled already, if it is (a definition's paths are).
    fn precompiled(&self) -> Option<&Result<Path, PathSyntaxError>> {
        None
    }
}

impl AsPath for str {
    fn text(&self) -> &str {
        self
    }
    fn compiled(&self) -> Result<Cow<'_, Path>, PathSyntaxError> {
        Path::parse(self).map(Cow::Owned)
    }
}

impl AsPath for String {
    fn text(&self) -> &str {
        self
    }
    fn compiled(&self) -> Result<Cow<'_, Path>, PathSyntaxError> {
        Path::parse(self).map(Cow::Owned)
    }
}

impl AsPath for JsonPath {
    fn text(&self) -> &str {
        &self.text
    }
    fn compiled(&self) -> Result<Cow<'_, Path>, PathSyntaxError> {
        match &*self.compiled {
            Ok(p) => Ok(Cow::Borrowed(p)),
            Err(e) => Err(e.clone()),
        }
    }
    fn precompiled(&self) -> Option<&Result<Path, PathSyntaxError>> {
        Some(&self.compiled)
    }
}

impl<P: AsPath + ?Sized> AsPath for &P {
    fn text(&self) -> &str {
        (**self).text()
    }
    fn compiled(&self) -> Result<Cow<'_, Path>, PathSyntaxError> {
        (**self).compiled()
    }
    fn precompiled(&self) -> Option<&Result<Path, PathSyntaxError>> {
        (**self).precompiled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compiled_and_text_paths_agree() {
        let input = json!({"a": [{"b": 1}, {"b": 2}]});
        let vars = Map::new();
        let scope = Scope {
            input: &input,
            context: &Value::Null,
            variables: &vars,
        };
        for text in [
            "$.a[1].b",
            "$.a[*].b",
            "$.a[?(@.b > 1)]",
            "$.nope",
            "$.a[",
            "a",
        ] {
            let compiled = JsonPath::new(text);
            assert_eq!(compiled, *text);
            assert_eq!(query(&compiled, &scope), query(text, &scope), "{text}");
            let mut x = input.clone();
            let mut y = input.clone();
            assert_eq!(
                set(&mut x, &compiled, json!(0)),
                set(&mut y, text, json!(0))
            );
            assert_eq!(x, y, "{text}");
        }
    }
}
