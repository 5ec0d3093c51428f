//! Reading an `ItemReader`'s object as items (`InputType` JSON, JSONL, CSV), pure: text in,
//! items or AWS's cause out.

use serde_json::{Map, Value};

/// Why the object's text is not a list of items (the cause of `States.ItemReaderFailed`).
pub(crate) type Cause = String;

/// A JSON array's elements, the first `max` of them.
pub(crate) fn json_items(text: &str, max: u64) -> Result<Vec<Value>, Cause> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("Cannot deserialize the ItemReader's JSON object: {e}"))?;
    match v {
        Value::Array(mut a) => {
            a.truncate(usize::try_from(max).unwrap_or(usize::MAX));
            Ok(a)
        }
        _ => Err("Attempting to map over non-iterable node.".into()),
    }
}

/// One JSON value per line (blank lines skipped), the first `max` of them.
pub(crate) fn jsonl_items(text: &str, max: u64) -> Result<Vec<Value>, Cause> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if out.len() as u64 >= max {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let v = serde_json::from_str(line)
            .map_err(|e| format!("Cannot deserialize line {} of the JSONL object: {e}", n + 1))?;
        out.push(v);
    }
    Ok(out)
}

/// The separator a `CSVDelimiter` names.
pub(crate) fn delimiter(name: Option<&str>) -> Result<char, Cause> {
    Ok(match name.unwrap_or("COMMA") {
        "COMMA" => ',',
        "PIPE" => '|',
        "SEMICOLON" => ';',
        "SPACE" => ' ',
        "TAB" => '\t',
        other => return Err(format!("Unsupported CSVDelimiter: {other}")),
    })
}

/// The rows of a CSV text (RFC 4180 quoting: `"a,b"`, `""` inside quotes); empty lines are no
/// rows.
pub(crate) fn csv_rows(text: &str, sep: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                other => field.push(other),
            }
            continue;
        }
        match ch {
            '"' if field.is_empty() => {
                quoted = true;
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if any || !field.is_empty() || !row.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                any = false;
            }
            c if c == sep => {
                row.push(std::mem::take(&mut field));
                any = true;
            }
            other => {
                field.push(other);
                any = true;
            }
        }
    }
    if any || !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// CSV rows as objects keyed by the headers (the first row, or `given`), the first `max`
/// rows after the header. A row with fewer fields has `""` for the rest; extra fields are
/// dropped. Each object's members come in the order AWS gives them (see [`java_hash_order`]).
pub(crate) fn csv_items(
    text: &str,
    sep: char,
    given: Option<&[String]>,
    max: u64,
) -> Result<Vec<Value>, Cause> {
    let mut rows = csv_rows(text, sep).into_iter();
    let headers: Vec<String> = match given {
        Some(h) => h.to_vec(),
        None => rows.next().unwrap_or_default(),
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h.as_str())) {
        return Err("CSV headers cannot contain duplicates.".into());
    }
    let order = java_hash_order(&headers);
    let mut out = Vec::new();
    for row in rows {
        if out.len() as u64 >= max {
            break;
        }
        let mut o = Map::new();
        for &i in &order {
            let v = row.get(i).cloned().unwrap_or_default();
            o.insert(headers[i].clone(), Value::String(v));
        }
        out.push(Value::Object(o));
    }
    Ok(out)
}

/// The order in which a Java `HashMap<String, _>` filled with `keys` in order iterates them:
/// AWS builds each CSV item in one, and its recorded outputs list the members so (`"0"`,
/// `"{}"`, `"True"` for those headers in any order; `""` before `"H1"`).
pub(crate) fn java_hash_order(keys: &[String]) -> Vec<usize> {
    // The table doubles from 16 while the entries pass three quarters of it.
    let mut capacity = 16usize;
    while keys.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let mut h: i32 = 0;
        for unit in k.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
        }
        let h = h as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut idx: Vec<(usize, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (bucket(k), i))
        .collect();
    // Stable: keys in one bucket keep their insertion order.
    idx.sort_by_key(|&(b, _)| b);
    idx.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Value) -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn csv_first_row_as_aws_recorded() {
        let text = "Col1,Col2,Col3\nValue1,Value2,Value3\nValue4,Value5,Value6\n,,,\n\
                    true,1,'HelloWorld'\nNull,None,\n   \n";
        let items = csv_items(text, ',', None, u64::MAX).unwrap_or_default();
        assert_eq!(
            Value::Array(items),
            json!([
                {"Col1":"Value1","Col2":"Value2","Col3":"Value3"},
                {"Col1":"Value4","Col2":"Value5","Col3":"Value6"},
                {"Col1":"","Col2":"","Col3":""},
                {"Col1":"true","Col2":"1","Col3":"'HelloWorld'"},
                {"Col1":"Null","Col2":"None","Col3":""},
                {"Col1":"   ","Col2":"","Col3":""}
            ])
        );
    }

    #[test]
    fn csv_members_in_java_hash_order() {
        let items =
            csv_items("0,True,{}\nValue4,Value5,Value6\n", ',', None, 10).unwrap_or_default();
        assert_eq!(keys(&items[0]), ["0", "{}", "True"]);
        let items = csv_items("H1,\nValue4,Value5,Value6\n", ',', None, 10).unwrap_or_default();
        assert_eq!(keys(&items[0]), ["", "H1"]);
        assert_eq!(items[0], json!({"": "Value5", "H1": "Value4"}));
    }

    #[test]
    fn csv_given_headers_duplicates_and_limits() {
        let h = vec!["H1".to_string(), "H1".to_string()];
        assert_eq!(
            csv_items("a,b\n", ',', Some(&h), 10),
            Err("CSV headers cannot contain duplicates.".to_string())
        );
        let h = vec!["H1".to_string()];
        let items = csv_items("a,b\nc,d\ne\n", ',', Some(&h), 2).unwrap_or_default();
        assert_eq!(Value::Array(items), json!([{"H1": "a"}, {"H1": "c"}]));
    }

    #[test]
    fn csv_quotes_and_delimiters() {
        let rows = csv_rows("a|\"b|c\"|\"say \"\"hi\"\"\"\r\nx||\n", '|');
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b|c".into(), "say \"hi\"".into()],
                vec!["x".to_string(), "".into(), "".into()]
            ]
        );
        assert_eq!(delimiter(Some("TAB")), Ok('\t'));
        assert!(delimiter(Some("COLON")).is_err());
    }

    #[test]
    fn json_and_jsonl() {
        assert_eq!(json_items("[1,2,3]", 2), Ok(vec![json!(1), json!(2)]));
        assert_eq!(
            json_items("{\"Hello\":\"world\"}", 5),
            Err("Attempting to map over non-iterable node.".to_string())
        );
        assert_eq!(
            jsonl_items("{\"a\":1}\n\n[2]\n3\n", 10),
            Ok(vec![json!({"a": 1}), json!([2]), json!(3)])
        );
        assert!(jsonl_items("{\"a\":1}\nnot json\n", 10).is_err());
    }
}
