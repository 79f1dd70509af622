//! The next page's token read from the head of a ListObjectsV2 response as it arrives.
//!
//! Why: pages follow one another, and the client's part of each (receiving and parsing 1,000
//! entries of XML, about a third of a 10,000-object listing's client CPU) used to sit between
//! the store's pages. S3 and the S3-compatible stores write `<NextContinuationToken>` before
//! the `<Contents>`, so the next page can be asked for while this one is still being parsed.
//! The token found this way is only a guess: the caller uses the next page only if the SDK's
//! own parse of this page gives the same token, and sends it again otherwise.

use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

/// The token is looked for in this many bytes from the start of the body.
const HEAD: usize = 4096;
const OPEN: &[u8] = b"<NextContinuationToken>";
const CLOSE: &[u8] = b"</NextContinuationToken>";

/// Sends the token of the first response that reaches deserialization (or `None`: no token
/// in its head, an error status, a token with XML escapes). Dropped unsent, the receiver
/// gets an error, so a request that never gets that far never leaves the caller waiting.
#[derive(Debug)]
pub(super) struct EarlyToken(Mutex<Option<oneshot::Sender<Option<String>>>>);

impl EarlyToken {
    pub(super) fn new() -> (Self, oneshot::Receiver<Option<String>>) {
        let (tx, rx) = oneshot::channel();
        (EarlyToken(Mutex::new(Some(tx))), rx)
    }
}

impl Intercept for EarlyToken {
    fn name(&self) -> &'static str {
        "EarlyToken"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(tx) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() else { return Ok(()) };
        let response = context.response_mut();
        if !response.status().is_success() {
            let _ = tx.send(None);
            return Ok(());
        }
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = match body.bytes() {
            Some(bytes) => {
                let _ = tx.send(find(bytes));
                body
            }
            None => SdkBody::from_body_1_x(Scan { inner: body, head: Vec::new(), tx: Some(tx) }),
        };
        Ok(())
    }
}

/// The body, passed on unchanged, with its first [`HEAD`] bytes searched for the token.
struct Scan {
    inner: SdkBody,
    head: Vec<u8>,
    tx: Option<oneshot::Sender<Option<String>>>,
}

impl Scan {
    fn look(&mut self, chunk: Option<&[u8]>) {
        let Some(tx) = self.tx.take() else { return };
        if let Some(chunk) = chunk {
            self.head.extend_from_slice(&chunk[..chunk.len().min(HEAD - self.head.len())]);
            let done = position(&self.head, CLOSE).is_some() || position(&self.head, b"<Contents>").is_some();
            if !done && self.head.len() < HEAD {
                self.tx = Some(tx); // not yet: wait for more
                return;
            }
        }
        let _ = tx.send(find(&self.head));
        self.head = Vec::new();
    }
}

impl Body for Scan {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if this.tx.is_some() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => this.look(frame.data_ref().map(|data| &data[..])),
                Poll::Ready(_) => this.look(None),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The token between the first `<NextContinuationToken>` and its close, unless it holds an
/// XML escape (S3's tokens are base64; anything else is left to the SDK's parse).
fn find(head: &[u8]) -> Option<String> {
    let head = &head[..head.len().min(HEAD)];
    // Only the part before the first entry: a key could hold the tag's text.
    let head = &head[..position(head, b"<Contents>").unwrap_or(head.len())];
    let start = position(head, OPEN)? + OPEN.len();
    let len = position(&head[start..], CLOSE)?;
    let token = std::str::from_utf8(&head[start..start + len]).ok()?;
    (!token.is_empty() && !token.contains(['&', '<'])).then(|| token.to_owned())
}

fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn the_token_is_read_from_the_head_only() {
        let page = br#"<?xml version="1.0"?><ListBucketResult><Name>b</Name><NextContinuationToken>]cC9m+/=</NextContinuationToken><KeyCount>2</KeyCount><Contents><Key>k</Key></Contents></ListBucketResult>"#;
        assert_eq!(find(page).as_deref(), Some("]cC9m+/="));
        // After the first entry (inside a key, say), it is not the token.
        let late = br#"<ListBucketResult><Contents><Key>&lt;NextContinuationToken&gt;</Key></Contents><NextContinuationToken>t</NextContinuationToken></ListBucketResult>"#;
        assert_eq!(find(late), None);
        // Escaped tokens are left to the SDK.
        assert_eq!(find(b"<NextContinuationToken>a&amp;b</NextContinuationToken>"), None);
        assert_eq!(find(b"<IsTruncated>false</IsTruncated><Contents>"), None);
        // Cut off before its close: no guess.
        assert_eq!(find(b"<NextContinuationToken>abc"), None);
    }
}
