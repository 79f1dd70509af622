//! Rendering (§5): JSON on stdout (pretty on a terminal, one line otherwise), a table for
//! people with `--output table`, and errors as `{"error":{…}}` plus one line on stderr.

use serde_json::{Map, Value};

use crate::cli::OutputFormat;

/// An action's output in the chosen format, ending with a newline.
pub fn render(value: &Value, format: OutputFormat, pretty: bool) -> String {
    match format {
        OutputFormat::Json => json(value, pretty),
        OutputFormat::Table => table(value),
    }
}

pub fn json(value: &Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // Serializing a Value cannot fail (its map keys are strings).
    let mut text = text.unwrap_or_default();
    text.push('\n');
    text
}

/// Listings (objects, folders, buckets) as aligned columns; anything else as `name: value`
/// lines, nested fields with dotted names.
pub fn table(value: &Value) -> String {
    let Some(map) = value.as_object() else {
        return match value {
            Value::Array(items) => items.iter().map(table).collect::<Vec<_>>().join("\n"),
            other => format!("{}\n", scalar(other)),
        };
    };
    if let Some(objects) = map.get("objects").and_then(Value::as_array) {
        return objects_table(map, objects);
    }
    if let Some(buckets) = map.get("buckets").and_then(Value::as_array) {
        let rows = buckets
            .iter()
            .map(|b| vec![field(b, "created"), field(b, "name")])
            .collect();
        return columns(&["CREATED", "NAME"], rows);
    }
    if let Some(folders) = map.get("folders").and_then(Value::as_array) {
        return folders.iter().map(|f| format!("{}\n", scalar(f))).collect();
    }
    key_values(value)
}

/// `aws s3 ls` style: folders as `PRE` rows, then one row per object; a truncated listing
/// ends with the flag that continues it.
fn objects_table(map: &Map<String, Value>, objects: &[Value]) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for folder in map
        .get("folders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        rows.push(vec![
            String::new(),
            "PRE".to_owned(),
            String::new(),
            scalar(folder),
        ]);
    }
    for object in objects {
        rows.push(vec![
            field(object, "last_modified"),
            field(object, "size"),
            field(object, "storage_class"),
            field(object, "key"),
        ]);
    }
    let mut text = columns(&["LAST MODIFIED", "SIZE", "CLASS", "KEY"], rows);
    if map.get("is_truncated").and_then(Value::as_bool) == Some(true) {
        if let Some(token) = map.get("next_continuation_token").and_then(Value::as_str) {
            text.push_str(&format!("(more: --continuation-token {token})\n"));
        }
    }
    text
}

/// Aligned columns; the last one is not padded (keys may hold spaces).
fn columns(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(&cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        format!("{}\n", out.trim_end())
    };
    let mut text = line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

fn key_values(value: &Value) -> String {
    let mut pairs = Vec::new();
    flatten("", value, &mut pairs);
    pairs
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect()
}

fn flatten(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |child: &str| {
        if name.is_empty() {
            child.to_owned()
        } else {
            format!("{name}.{child}")
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (child, inner) in map {
                flatten(&join(child), inner, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, inner) in items.iter().enumerate() {
                flatten(&format!("{name}[{i}]"), inner, out);
            }
        }
        Value::Array(items) => out.push((
            name.to_owned(),
            items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        )),
        Value::Object(_) => out.push((name.to_owned(), "{}".to_owned())),
        other => out.push((name.to_owned(), scalar(other))),
    }
}

fn field(value: &Value, name: &str) -> String {
    value
        .get(name)
        .map(scalar)
        .unwrap_or_else(|| "-".to_owned())
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_one_line_or_pretty() {
        let value = json!({"a": 1});
        assert_eq!(json(&value, false), "{\"a\":1}\n");
        assert!(json(&value, true).contains("\n  \"a\": 1\n"));
    }

    #[test]
    fn object_listings_are_columns() {
        let listing = json!({
            "bucket": "b", "prefix": "", "count": 2, "is_truncated": true, "next_continuation_token": "T",
            "folders": ["logs/"],
            "objects": [
                {"key": "a b.txt", "size": 5, "etag": "e", "last_modified": "2026-01-02T03:04:05Z", "storage_class": "STANDARD"},
                {"key": "c", "size": 12345, "etag": "e", "last_modified": null, "storage_class": null},
            ],
        });
        let text = table(&listing);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "LAST MODIFIED         SIZE   CLASS     KEY");
        assert_eq!(lines[1], "                      PRE              logs/");
        assert_eq!(lines[2], "2026-01-02T03:04:05Z  5      STANDARD  a b.txt");
        assert_eq!(lines[3], "-                     12345  -         c");
        assert_eq!(lines[4], "(more: --continuation-token T)");
    }

    #[test]
    fn buckets_and_folders() {
        let buckets =
            table(&json!({"buckets": [{"name": "b1", "created": "2026-01-01T00:00:00Z"}]}));
        assert_eq!(
            buckets,
            "CREATED               NAME\n2026-01-01T00:00:00Z  b1\n"
        );
        let folders =
            table(&json!({"bucket": "b", "prefix": "", "folders": ["a/", "b/"], "count": 2}));
        assert_eq!(folders, "a/\nb/\n");
    }

    #[test]
    fn other_outputs_are_name_value_lines() {
        let text = table(&json!({
            "bucket": "b", "version_id": null, "metadata": {"k": "v"}, "tags": {},
            "errors": [{"key": "x", "code": "access_denied"}], "list": [1, 2],
        }));
        assert_eq!(
            text,
            "bucket: b\nerrors[0].code: access_denied\nerrors[0].key: x\nlist: 1, 2\nmetadata.k: v\ntags: {}\nversion_id: -\n"
        );
    }
}
