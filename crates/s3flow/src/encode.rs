//! Small encoders shared by the actions: URL paths for keys, copy sources, tag sets, times.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is escaped (S3's own rule for keys in URLs).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// As [`UNRESERVED`], keeping `/` so a key reads as a path.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// A key as a URL path (slashes kept, every other reserved byte escaped).
pub fn key_path(key: &str) -> String {
    utf8_percent_encode(key, PATH).to_string()
}

/// One query or form component.
pub fn component(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// The `x-amz-copy-source` value: `bucket/key[?versionId=…]`, URL-encoded as S3 requires.
pub fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let mut source = format!("{bucket}/{}", key_path(key));
    if let Some(version) = version_id {
        source.push_str("?versionId=");
        source.push_str(&component(version));
    }
    source
}

/// The `x-amz-tagging` value: `k1=v1&k2=v2`, URL-encoded.
pub fn tagging(tags: &BTreeMap<String, String>) -> String {
    tags.iter()
        .map(|(k, v)| format!("{}={}", component(k), component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An SDK timestamp as RFC 3339 (`2026-11-23T12:00:00Z`).
pub fn rfc3339(time: &aws_smithy_types::DateTime) -> String {
    time.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| time.secs().to_string())
}

pub fn rfc3339_opt(time: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    time.map(rfc3339)
}

/// UTC as `YYYYMMDDTHHMMSSZ`, for key templates and backup names.
pub fn compact_timestamp(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped_for_urls() {
        assert_eq!(key_path("a b/c+d=e"), "a%20b/c%2Bd%3De");
        assert_eq!(key_path("x//y"), "x//y");
        assert_eq!(key_path("é?#%"), "%C3%A9%3F%23%25");
        assert_eq!(copy_source("b", "k 1", Some("v+1")), "b/k%201?versionId=v%2B1");
        let tags = BTreeMap::from([("a b".to_owned(), "c&d".to_owned())]);
        assert_eq!(tagging(&tags), "a%20b=c%26d");
    }
}
