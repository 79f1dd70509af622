//! Bucket versioning state and object version ids.
//!
//! A version id is 32 lower-case hex digits: a 64-bit stamp (nanoseconds since the Unix epoch,
//! strictly increasing within the process) followed by 64 random bits. Ids are URL-safe and
//! sort by creation time. The `null` version (written while a bucket is unversioned or
//! versioning is suspended) has no id of its own; its stamp is kept in the metadata document
//! (`seq`), which orders every version of a key.

use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderValue};
use s3s::{S3Error, S3ErrorCode};

use super::meta::ObjectMeta;

/// The version id of objects written while versioning was off or suspended.
pub const NULL_VERSION: &str = "null";

/// A bucket's versioning state, as `GetBucketVersioning` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: no version ids, no `x-amz-version-id` header.
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub const ENABLED: &'static str = "Enabled";
    pub const SUSPENDED: &'static str = "Suspended";

    /// From the `versioning` field of the bucket marker.
    pub fn from_marker(status: Option<&str>) -> Self {
        match status {
            Some(Self::ENABLED) => Self::Enabled,
            Some(Self::SUSPENDED) => Self::Suspended,
            _ => Self::Unversioned,
        }
    }

    /// The status element of `GetBucketVersioning`; none when never enabled.
    pub fn status(self) -> Option<&'static str> {
        match self {
            Self::Unversioned => None,
            Self::Enabled => Some(Self::ENABLED),
            Self::Suspended => Some(Self::SUSPENDED),
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        match self {
            Self::Unversioned => 0,
            Self::Enabled => 1,
            Self::Suspended => 2,
        }
    }

    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Enabled,
            2 => Self::Suspended,
            _ => Self::Unversioned,
        }
    }
}

static CLOCK: AtomicU64 = AtomicU64::new(0);

/// A stamp later than every stamp handed out or seen before in this process: the current time
/// in nanoseconds, bumped past the previous stamp if the clock stands still or goes back.
pub fn next_stamp() -> u64 {
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(0);
    let mut previous = CLOCK.load(Ordering::Acquire);
    loop {
        let next = now.max(previous.saturating_add(1));
        match CLOCK.compare_exchange_weak(previous, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return next,
            Err(actual) => previous = actual,
        }
    }
}

/// Records a stamp found on disk, so later stamps sort after it even if the clock went back.
pub fn observe_stamp(stamp: u64) {
    CLOCK.fetch_max(stamp, Ordering::AcqRel);
}

/// A fresh version id for a version stamped `stamp`.
pub fn new_version_id(stamp: u64) -> String {
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    format!("{stamp:016x}{random:016x}")
}

/// Whether `id` has the form of a version id this server hands out (or is `null`).
pub fn is_valid_version_id(id: &str) -> bool {
    id == NULL_VERSION
        || (id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The stamp of a (non-null, well-formed) version id.
pub fn stamp_of(id: &str) -> Option<u64> {
    if id == NULL_VERSION || !is_valid_version_id(id) {
        return None;
    }
    u64::from_str_radix(&id[..16], 16).ok()
}

// ---- the errors of versioned reads ----

pub fn invalid_version_id() -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, "Invalid version id specified")
}

pub fn no_such_version() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NoSuchVersion,
        "The specified version does not exist.",
    )
}

/// Headers S3 sends with an error about a delete marker. (s3s replaces the response headers
/// with these, so the XML content type is repeated.)
fn marker_headers(marker: &ObjectMeta) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    headers.insert("x-amz-delete-marker", HeaderValue::from_static("true"));
    if let Ok(value) = HeaderValue::from_str(marker.version()) {
        headers.insert("x-amz-version-id", value);
    }
    headers
}

/// GET/HEAD of a key whose latest version is a delete marker: 404 `NoSuchKey`, with
/// `x-amz-delete-marker: true` and the marker's version id.
pub fn no_such_key_deleted(marker: &ObjectMeta) -> S3Error {
    let mut err = super::no_such_key();
    err.set_headers(marker_headers(marker));
    err
}

/// GET/HEAD (or another object action) naming a delete marker by version id: 405.
pub fn method_not_allowed_on_marker(marker: &ObjectMeta) -> S3Error {
    let mut err = S3Error::with_message(
        S3ErrorCode::MethodNotAllowed,
        "The specified method is not allowed against this resource.",
    );
    let mut headers = marker_headers(marker);
    headers.insert(http::header::ALLOW, HeaderValue::from_static("DELETE"));
    if let Some(date) = http_date(marker.last_modified) {
        headers.insert(http::header::LAST_MODIFIED, date);
    }
    err.set_headers(headers);
    err
}

fn http_date(t: time::OffsetDateTime) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = t.to_offset(time::UtcOffset::UTC).format(format).ok()?;
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_well_formed_and_sort_by_time() {
        let a = new_version_id(next_stamp());
        let b = new_version_id(next_stamp());
        assert!(is_valid_version_id(&a) && is_valid_version_id(&b));
        assert!(a < b, "{a} < {b}");
        assert!(stamp_of(&a).unwrap() < stamp_of(&b).unwrap());
        assert!(is_valid_version_id("null"));
        assert!(!is_valid_version_id("../x"));
        assert!(!is_valid_version_id("0123456789ABCDEF0123456789abcdef"));
        assert_eq!(stamp_of("null"), None);
    }

    #[test]
    fn stamps_never_go_back() {
        let ahead = next_stamp() + 1_000_000_000;
        observe_stamp(ahead);
        assert!(next_stamp() > ahead);
    }

    #[test]
    fn http_dates_use_imf_fixdate() {
        let t = time::macros::datetime!(2024-03-05 07:08:09 UTC);
        assert_eq!(
            http_date(t).unwrap().to_str().unwrap(),
            "Tue, 05 Mar 2024 07:08:09 GMT"
        );
    }
}
