//! `inlet replay`: sends the envelopes a function parked in the payload bucket (because the queue
//! refused them for good) to a queue once it takes them again, and deletes each parked copy only
//! after the queue has acknowledged it. Run by an operator, with their own credentials.
//!
//! Replay does not trust the bucket: an object is sent only when it is what the function that
//! parked it writes at that key ([`check`]). Its key is `undelivered/<source>/<id segment>/<body
//! sha256>.json`, and each function may write only under its own source's prefix, so the key says
//! which function wrote it; the envelope must agree with the key (source, id, digest, a type of
//! that source, CloudEvents 1.0, no field the function does not write), and its data must hash to
//! the digest: `data` as it stands in the envelope, `data_base64` decoded, a `dataref` only to
//! where that function claim-checks that body, whose bytes are read and hashed. Anything else is
//! refused, reported with the reason and kept.
//!
//! `data` built from a form body (Slack, Twilio and Braintree forms, a form's fields or the JSON
//! in a GitHub `payload=` field) cannot be re-hashed: the digest is of the form's bytes, which the
//! JSON does not keep; neither can JSON a sender sent with whitespace around it other than a
//! final newline. Such an envelope is refused like a changed one unless the operator, having
//! looked at it, asks for it with `unchecked_data` (`--unchecked-data`); every other check still
//! applies.
//!
//! These checks bind what an object says to where it is. They do not authenticate it: whoever may
//! write under `undelivered/<source>/` (by design, only that source's function, which may send
//! to the queue anyway) can park a consistent envelope of that source.

use aws_sdk_s3::Client as S3;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::adapters::aws::SqsQueue;
use crate::adapters::aws::{classify, SdkConfig};
use crate::config::Env;
use crate::core::envelope::{MAX_ID_BYTES, MAX_SUBJECT_BYTES, MAX_TYPE_CHARS};
use crate::ports::payloads::{claim_check_key, id_segment, plain_segment};
use crate::ports::queue::{Message, Queue};

pub use crate::ports::payloads::PARKED_PREFIX;
/// The largest parked envelope read: SQS's largest message. A function parks only an envelope it
/// tried to send (or a claim-checked one, far smaller), so anything larger is not one.
pub const MAX_PARKED_BYTES: u64 = 1_048_576;
/// The largest claim-checked body read for a `dataref`: the largest body a function accepts.
pub const MAX_CLAIM_CHECKED_BYTES: u64 = crate::config::MAX_BODY_CEILING as u64;
/// Characters of a value from the bucket quoted in a reason.
const QUOTED_CHARS: usize = 100;

/// Why a parked object is not replayed. Values from the object are quoted escaped and shortened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("its key is not undelivered/<source>/<id segment>/<64 lower-case hex digits>.json")]
    KeyShape,
    #[error("it is empty")]
    Empty,
    #[error("it is {size} bytes, more than the {limit} a parked envelope can be")]
    TooLarge { size: u64, limit: u64 },
    #[error("it is not UTF-8")]
    NotUtf8,
    #[error("it is not an envelope Inlet writes: {0}")]
    NotAnEnvelope(String),
    #[error("its specversion is {0}, not \"1.0\"")]
    SpecVersion(String),
    #[error("its source is {envelope}, but its key is under {key:?}")]
    Source { envelope: String, key: String },
    #[error("its id must be 1 to {MAX_ID_BYTES} bytes long")]
    Id,
    #[error("its id belongs under {expected:?}, but its key's id segment is {key:?}")]
    IdSegment { expected: String, key: String },
    #[error("its inletbodysha256 is {0}, not the digest its key ends with")]
    Digest(String),
    #[error("its type {ty} is not {name:?} or {name:?} followed by `.` and the event's name (at most {MAX_TYPE_CHARS} characters)")]
    Type { ty: String, name: String },
    #[error("its subject is longer than {MAX_SUBJECT_BYTES} bytes")]
    Subject,
    #[error("its inletbatchsha256 (64 hex digits), inletbatchindex and inletbatchsize must come together, the index below the size")]
    Batch,
    #[error("it must carry exactly one of data, data_base64 and dataref")]
    Payload,
    #[error("its data_base64 is not base64")]
    Base64,
    #[error("its data_base64 does not hash to inletbodysha256")]
    Base64Hash,
    #[error("its dataref is {found}, not {expected:?}, where its function stores that body")]
    DataRef { found: String, expected: String },
    #[error("its claim-checked body is {0} bytes, more than the {MAX_CLAIM_CHECKED_BYTES} a body can be")]
    BodyTooLarge(u64),
    #[error("its claim-checked body does not hash to inletbodysha256")]
    BodyHash,
    #[error("its data does not hash to inletbodysha256: it was changed, or built from a form body (or sent with whitespace around it), whose bytes an envelope does not keep; once you have checked it, --unchecked-data replays it")]
    DataUnchecked,
}

/// What a parked object's key says the function wrote there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParkedKey<'k> {
    pub source: &'k str,
    /// `payloads::id_segment` of the envelope id.
    pub segment: &'k str,
    /// Hex SHA-256 of the bytes `data` holds (`inletbodysha256`).
    pub digest: &'k str,
}

impl<'k> ParkedKey<'k> {
    /// `undelivered/<source>/<id segment>/<64 lower-case hex>.json`, exactly: a valid source name,
    /// a segment `id_segment` can write (never `.` or `..`), nothing more.
    pub fn parse(key: &'k str) -> Result<Self, Refusal> {
        let rest = key.strip_prefix(PARKED_PREFIX).ok_or(Refusal::KeyShape)?;
        let mut parts = rest.split('/');
        let (Some(source), Some(segment), Some(file), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::KeyShape);
        };
        let digest = file.strip_suffix(".json").ok_or(Refusal::KeyShape)?;
        if !crate::catalogue::sources::valid_name(source)
            || !plain_segment(segment)
            || !is_digest(digest)
        {
            return Err(Refusal::KeyShape);
        }
        Ok(Self {
            source,
            segment,
            digest,
        })
    }

    /// Where this envelope's function claim-checks its body (`payloads::body_key`).
    fn body_key(&self) -> String {
        claim_check_key(self.source, self.segment, self.digest)
    }
}

/// 64 lower-case hex digits, as `hex::encode` writes a SHA-256.
fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Text from the bucket as a reason shows it: escaped, so that no control character reaches the
/// operator's terminal, and shortened.
fn escaped(s: &str) -> String {
    let mut chars = s.escape_debug();
    let mut out: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// A value from the bucket, [`escaped`], in quotes.
fn quote(s: &str) -> String {
    format!("\"{}\"", escaped(s))
}

/// Every field an envelope of the function has, and no other (`deny_unknown_fields`); a field
/// given twice is refused too, so no reader can see another value than the one checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored<'a> {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(rename = "time")]
    _time: String,
    subject: Option<String>,
    #[serde(rename = "datacontenttype")]
    _datacontenttype: String,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    data_base64: Option<String>,
    dataref: Option<String>,
    #[serde(rename = "inletreceivedat")]
    _inletreceivedat: String,
    inletbodysha256: String,
    #[serde(rename = "inletverification")]
    _inletverification: String,
    #[serde(rename = "inletsecret")]
    _inletsecret: String,
    inletbatchsha256: Option<String>,
    inletbatchindex: Option<u64>,
    inletbatchsize: Option<u64>,
}

/// What is known of a parked envelope's data once [`check`] has passed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// It hashes to the key's digest.
    Hashed,
    /// `data` that does not hash: built from a form, or changed (see [`Refusal::DataUnchecked`]).
    Unhashable,
    /// A `dataref` to where the function claim-checks this body: the object at this key of the
    /// bucket must hash to the digest.
    ClaimChecked { key: String },
}

/// Checks the object parked at `key` (its bytes `stored`) against what the function that parked
/// it writes there; `store` is the URI of the bucket's root as a `dataref` names it
/// (`s3://<bucket>/`). On success, the message to send (the stored JSON as its body) and what is
/// left to know of its data.
pub fn check(key: &ParkedKey<'_>, store: &str, stored: &[u8]) -> Result<(Message, Data), Refusal> {
    let text = std::str::from_utf8(stored).map_err(|_| Refusal::NotUtf8)?;
    let e: Stored<'_> = serde_json::from_str(text)
        .map_err(|err| Refusal::NotAnEnvelope(escaped(&err.to_string())))?;
    if e.specversion != "1.0" {
        return Err(Refusal::SpecVersion(quote(&e.specversion)));
    }
    if e.source != key.source {
        return Err(Refusal::Source {
            envelope: quote(&e.source),
            key: key.source.to_owned(),
        });
    }
    if e.id.is_empty() || e.id.len() > MAX_ID_BYTES {
        return Err(Refusal::Id);
    }
    let segment = id_segment(&e.id);
    if segment != key.segment {
        return Err(Refusal::IdSegment {
            expected: segment,
            key: key.segment.to_owned(),
        });
    }
    if e.inletbodysha256 != key.digest {
        return Err(Refusal::Digest(quote(&e.inletbodysha256)));
    }
    let of_source = e.ty == key.source
        || e.ty
            .strip_prefix(key.source)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|name| !name.is_empty());
    if !of_source || e.ty.chars().count() > MAX_TYPE_CHARS {
        return Err(Refusal::Type {
            ty: quote(&e.ty),
            name: key.source.to_owned(),
        });
    }
    if e.subject
        .as_ref()
        .is_some_and(|s| s.len() > MAX_SUBJECT_BYTES)
    {
        return Err(Refusal::Subject);
    }
    match (&e.inletbatchsha256, e.inletbatchindex, e.inletbatchsize) {
        (None, None, None) => {}
        (Some(sha), Some(index), Some(size)) if is_digest(sha) && index < size => {}
        _ => return Err(Refusal::Batch),
    }
    let data = match (e.data, &e.data_base64, &e.dataref) {
        (Some(raw), None, None) => {
            if json_hashes_to(raw.get(), key.digest) {
                Data::Hashed
            } else {
                Data::Unhashable
            }
        }
        (None, Some(b64), None) => {
            let bytes = B64.decode(b64).map_err(|_| Refusal::Base64)?;
            if hex::encode(Sha256::digest(&bytes)) != key.digest {
                return Err(Refusal::Base64Hash);
            }
            Data::Hashed
        }
        (None, None, Some(uri)) => {
            let body_key = key.body_key();
            let expected = format!("{store}{body_key}");
            if *uri != expected {
                return Err(Refusal::DataRef {
                    found: quote(uri),
                    expected,
                });
            }
            Data::ClaimChecked { key: body_key }
        }
        _ => return Err(Refusal::Payload),
    };
    let message = Message {
        key: e.id.clone(),
        group: e.subject.unwrap_or_else(|| e.source.clone()),
        id: e.id,
        source: e.source,
        event_type: e.ty,
        body: text.to_owned(),
    };
    Ok((message, data))
}

/// Whether `text`, the JSON text of `data` as it stands in a parked envelope, is the bytes whose
/// SHA-256 is `digest`. `data` is the sender's JSON as sent (or one event's bytes in the body)
/// with two differences the envelope makes: the value leaves out whitespace around it (tried:
/// none, a final `\n` or `\r\n`, as senders end bodies), and `sqs_safe` wrote U+FFFE and U+FFFF
/// as `\ufffe` and `\uffff` (tried: as stored, and with every such escape undone; a body with both
/// the characters and those escapes written out cannot be told apart, and stays unhashable).
fn json_hashes_to(text: &str, digest: &str) -> bool {
    let matches = |bytes: &[u8]| {
        let mut hasher = Sha256::new();
        hasher.update(bytes);
        ["", "\n", "\r\n"].iter().any(|end| {
            let mut h = hasher.clone();
            h.update(end.as_bytes());
            hex::encode(h.finalize()) == digest
        })
    };
    matches(text.as_bytes()) || unescape_nonchars(text).is_some_and(|t| matches(t.as_bytes()))
}

/// `text` (valid JSON) with each `\ufffe` and `\uffff` escape, as `sqs_safe` writes them, turned
/// back into its character; `None` when there is none. In valid JSON a backslash only starts an
/// escape, so each one is read with the character after it (`\\ufffe` stays as it is).
fn unescape_nonchars(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let (mut from, mut at) = (0, 0);
    while let Some(found) = bytes.get(at..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let i = at + found;
        let c = match bytes.get(i + 1..i + 6) {
            Some(b"ufffe") => '\u{FFFE}',
            Some(b"uffff") => '\u{FFFF}',
            _ => {
                at = i + 2;
                continue;
            }
        };
        out.push_str(&text[from..i]);
        out.push(c);
        from = i + 6;
        at = from;
    }
    if from == 0 {
        return None;
    }
    out.push_str(&text[from..]);
    Some(out)
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Envelopes sent to the queue (and, unless kept, deleted from the bucket).
    pub sent: usize,
    /// Of those, envelopes whose `data` could not be re-hashed (sent with `unchecked_data`).
    pub unchecked: usize,
    /// Objects that are not what their key says the function parked; they stay where they are.
    pub refused: usize,
    /// Objects that could not be read or sent; they stay where they are.
    pub failed: usize,
}

/// What became of one object.
#[derive(Debug)]
pub enum Replayed<'a> {
    /// On the queue as this message id; `unchecked` when its `data` could not be re-hashed.
    Sent {
        message_id: &'a str,
        unchecked: bool,
    },
    /// Not what its key says the function parked; kept.
    Refused(&'a Refusal),
    /// Could not be read, sent or deleted (the reason says which); kept unless it was sent.
    Failed(&'a str),
}

/// How to replay.
#[derive(Debug, Default, Clone)]
pub struct Options<'a> {
    /// Only this source's envelopes (`undelivered/<source>/`).
    pub source: Option<&'a str>,
    /// Leave each object in the bucket once sent.
    pub keep: bool,
    /// Also send envelopes whose `data` cannot be re-hashed ([`Refusal::DataUnchecked`]).
    pub unchecked_data: bool,
}

/// Replays every envelope under `undelivered/` (optionally only one source's) in `bucket` to
/// `queue_url`. `report` is told about each object: its key (as stored: it may hold anything) and
/// what became of it.
pub async fn replay(
    sdk: &SdkConfig,
    env: &Env,
    bucket: &str,
    queue_url: &str,
    options: &Options<'_>,
    mut report: impl FnMut(&str, Replayed<'_>),
) -> Result<Summary, String> {
    let prefix = match options.source {
        Some(s) if crate::catalogue::sources::valid_name(s) => format!("{PARKED_PREFIX}{s}/"),
        Some(s) => {
            return Err(format!(
                "{s:?} is not a source name (1 to 64 lower-case letters, digits and `-`)"
            ))
        }
        None => PARKED_PREFIX.to_owned(),
    };
    let s3 = crate::adapters::aws::s3_client(sdk, env);
    let queue = SqsQueue::connect(sdk, queue_url).await?;
    let mut summary = Summary::default();
    for (key, size) in list(&s3, bucket, &prefix).await? {
        match replay_one(&s3, &queue, bucket, &key, size, options).await {
            Ok((message_id, unchecked)) => {
                summary.sent += 1;
                summary.unchecked += usize::from(unchecked);
                report(
                    &key,
                    Replayed::Sent {
                        message_id: &message_id,
                        unchecked,
                    },
                );
            }
            Err(Stop::Refused(why)) => {
                summary.refused += 1;
                report(&key, Replayed::Refused(&why));
            }
            Err(Stop::Failed(why)) => {
                summary.failed += 1;
                report(&key, Replayed::Failed(&why));
            }
        }
    }
    Ok(summary)
}

/// Each key under `prefix` with its size as listed.
async fn list(s3: &S3, bucket: &str, prefix: &str) -> Result<Vec<(String, Option<u64>)>, String> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("cannot list s3://{bucket}/{prefix}: {}", classify(&e)))?;
        keys.extend(page.contents().iter().filter_map(|o| {
            let size = o.size().and_then(|s| u64::try_from(s).ok());
            o.key().map(|k| (k.to_owned(), size))
        }));
    }
    Ok(keys)
}

/// Why one object was not sent.
enum Stop {
    Refused(Refusal),
    Failed(String),
}

impl From<Refusal> for Stop {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

/// Why an object could not be read.
enum Read {
    /// It is larger than this many bytes.
    TooLarge(u64),
    /// S3 did not give it (the error), or the download broke.
    Failed(String),
}

/// Reads the object at `key`, handing its bytes to `sink`: at most `limit` bytes, whatever its
/// listed or declared size says.
async fn read(
    s3: &S3,
    bucket: &str,
    key: &str,
    limit: u64,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), Read> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| Read::Failed(classify(&e).to_string()))?;
    let declared = object.content_length().and_then(|n| u64::try_from(n).ok());
    if let Some(size) = declared.filter(|n| *n > limit) {
        return Err(Read::TooLarge(size));
    }
    let mut body = object.body;
    let mut read = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|_| Read::Failed("the download broke".to_owned()))?
    {
        read += chunk.len() as u64;
        if read > limit {
            return Err(Read::TooLarge(read));
        }
        sink(&chunk);
    }
    Ok(())
}

async fn replay_one(
    s3: &S3,
    queue: &SqsQueue,
    bucket: &str,
    key: &str,
    size: Option<u64>,
    options: &Options<'_>,
) -> Result<(String, bool), Stop> {
    let parked = ParkedKey::parse(key)?;
    let too_large = |size| {
        Stop::Refused(Refusal::TooLarge {
            size,
            limit: MAX_PARKED_BYTES,
        })
    };
    if let Some(size) = size.filter(|s| *s > MAX_PARKED_BYTES) {
        return Err(too_large(size));
    }
    let mut stored = Vec::new();
    read(s3, bucket, key, MAX_PARKED_BYTES, |b| {
        stored.extend_from_slice(b)
    })
    .await
    .map_err(|e| match e {
        Read::TooLarge(size) => too_large(size),
        Read::Failed(why) => Stop::Failed(format!("cannot read it: {why}")),
    })?;
    if stored.is_empty() {
        return Err(Refusal::Empty.into());
    }
    let (message, data) = check(&parked, &format!("s3://{bucket}/"), &stored)?;
    let unchecked = match data {
        Data::Hashed => false,
        Data::Unhashable if options.unchecked_data => true,
        Data::Unhashable => return Err(Refusal::DataUnchecked.into()),
        Data::ClaimChecked { key: body_key } => {
            let mut hasher = Sha256::new();
            read(s3, bucket, &body_key, MAX_CLAIM_CHECKED_BYTES, |b| {
                hasher.update(b)
            })
            .await
            .map_err(|e| match e {
                Read::TooLarge(size) => Stop::Refused(Refusal::BodyTooLarge(size)),
                // Not a sign of tampering: the body may have expired (PayloadRetentionDays).
                Read::Failed(why) => Stop::Failed(format!(
                    "cannot read its claim-checked body {body_key}: {why}"
                )),
            })?;
            if hex::encode(hasher.finalize()) != parked.digest {
                return Err(Refusal::BodyHash.into());
            }
            false
        }
    };
    let message_id = queue.send(message).await.map_err(|e| {
        Stop::Failed(format!(
            "the queue did not take it ({} failure: {e})",
            e.failure.as_str()
        ))
    })?;
    if !options.keep {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                Stop::Failed(format!(
                    "sent as {message_id}, but could not delete it: {}",
                    classify(&e)
                ))
            })?;
    }
    Ok((message_id, unchecked))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use http::{HeaderMap, HeaderName, HeaderValue};
    use tokio::time::Instant;

    use super::*;
    use crate::adapters::PayloadStore;
    use crate::config::Settings;
    use crate::core::verify::{Secret, SecretSet};
    use crate::ports::payloads::MemoryPayloads;
    use crate::ports::queue::{MemoryQueue, QueueError};
    use crate::{Inbound, Pipeline};

    const NOW: u64 = 1_763_800_000;
    const STORE: &str = "s3://payloads/";

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// One object a function parked, and what [`check`] makes of it.
    struct Seen {
        key: String,
        stored: Vec<u8>,
        checked: Result<(Message, Data), Refusal>,
        /// For a `dataref`: the bytes stored where it points.
        body: Option<Vec<u8>>,
    }

    /// What `source`'s function parks for a delivery of `body` (sent as `content_type`) when the
    /// queue refuses everything for good (a queue limit of `max` bytes claim-checks larger
    /// envelopes first), each object checked as replay checks it.
    async fn parked(
        source: &str,
        secret: &str,
        content_type: &'static str,
        body: &[u8],
        max: usize,
    ) -> Vec<Seen> {
        let src = crate::catalogue::sources::by_name(source).expect("a sender");
        let key = src.decode_secret(secret).expect("a secret");
        let queue =
            MemoryQueue::failing(QueueError::permanent("AccessDenied")).with_max_message_bytes(max);
        let p = Pipeline::new(
            src,
            SecretSet::new(vec![Secret::new("WEBHOOK_SECRET", key.clone())]).expect("secrets"),
            Settings::default(),
            queue,
        )
        .with_payloads(PayloadStore::Memory(MemoryPayloads::default()));
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(content_type));
        let signing = crate::core::verify::engine::Signing::post(body, NOW as i64, "msg_1", None);
        let event = src
            .event_header()
            .map(|h| (h.to_owned(), "push".to_owned()));
        for (k, v) in src
            .sign(&key, &signing)
            .expect("signed")
            .into_iter()
            .chain(event)
        {
            headers.append(
                HeaderName::from_bytes(k.as_bytes()).expect("a name"),
                HeaderValue::from_str(&v).expect("a value"),
            );
        }
        let now = UNIX_EPOCH + Duration::from_secs(NOW);
        let deadline = Instant::now() + Duration::from_secs(5);
        let reply = p.handle(Inbound::post(&headers, body), now, deadline).await;
        assert_eq!(
            reply.status,
            202,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let PayloadStore::Memory(store) = p.payloads() else {
            panic!("memory payloads")
        };
        let mut seen = Vec::new();
        for key in store.keys() {
            if !key.starts_with(PARKED_PREFIX) {
                continue;
            }
            let stored = store.get(&key).expect("stored").0;
            let checked = ParkedKey::parse(&key).and_then(|k| check(&k, "memory://", &stored));
            let body = match &checked {
                Ok((_, Data::ClaimChecked { key })) => store.get(key).map(|(b, _)| b),
                _ => None,
            };
            seen.push(Seen {
                key,
                stored,
                checked,
                body,
            });
        }
        assert!(!seen.is_empty(), "nothing parked");
        seen
    }

    /// The one object parked for a delivery, which replay must take as it is.
    async fn parked_one(
        source: &str,
        secret: &str,
        content_type: &'static str,
        body: &[u8],
        max: usize,
    ) -> (Seen, Message, Data) {
        let mut seen = parked(source, secret, content_type, body, max).await;
        assert_eq!(seen.len(), 1);
        let one = seen.remove(0);
        let (message, data) = one.checked.clone().expect("replayed");
        assert_eq!(message.body.as_bytes(), &one.stored[..], "sent as stored");
        (one, message, data)
    }

    const STRIPE: &str = "whsec_inlet_dev_stripe_secret";

    #[tokio::test]
    async fn what_a_function_parks_replay_takes_and_hashes() {
        // JSON as a sender sends it, pretty and with a final newline the data leaves out.
        let body = "{\n  \"id\": \"evt_1\",\n  \"type\": \"invoice.paid\"\n}\n";
        let (seen, m, data) = parked_one(
            "stripe",
            STRIPE,
            "application/json",
            body.as_bytes(),
            262_144,
        )
        .await;
        assert_eq!(
            seen.key,
            format!("undelivered/stripe/evt_1/{}.json", sha(body.as_bytes()))
        );
        assert_eq!(data, Data::Hashed);
        assert_eq!(
            (
                m.id.as_str(),
                m.key.as_str(),
                m.source.as_str(),
                m.event_type.as_str(),
                m.group.as_str()
            ),
            ("evt_1", "evt_1", "stripe", "stripe.invoice.paid", "stripe")
        );

        // U+FFFE and U+FFFF, which the envelope writes as escapes for SQS.
        let body = "{\"id\":\"evt_2\",\"type\":\"invoice.paid\",\"note\":\"a\u{FFFE}b\u{FFFF}\"}";
        let (seen, _, data) = parked_one(
            "stripe",
            STRIPE,
            "application/json",
            body.as_bytes(),
            262_144,
        )
        .await;
        let stored = String::from_utf8(seen.stored).expect("UTF-8");
        assert!(stored.contains(r"a\ufffeb\uffff"), "{stored}");
        assert_eq!(data, Data::Hashed);

        // A body that is not JSON: data_base64.
        let body: Vec<u8> = (0..=255).collect();
        let (seen, m, data) = parked_one(
            "standard",
            "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
            "application/octet-stream",
            &body,
            262_144,
        )
        .await;
        assert!(String::from_utf8_lossy(&seen.stored).contains("\"data_base64\""));
        assert_eq!(
            (m.event_type.as_str(), data),
            ("standard.raw", Data::Hashed)
        );

        // Over the queue's limit: claim-checked, then parked with a dataref to the body.
        let body = format!(
            "{{\"id\":\"evt_3\",\"type\":\"invoice.paid\",\"pad\":\"{}\"}}",
            "x".repeat(3_000)
        );
        let (seen, _, data) =
            parked_one("stripe", STRIPE, "application/json", body.as_bytes(), 1_500).await;
        let digest = sha(body.as_bytes());
        assert_eq!(
            data,
            Data::ClaimChecked {
                key: format!("payloads/stripe/evt_3/{digest}")
            }
        );
        assert_eq!(seen.body.map(|b| sha(&b)), Some(digest));
    }

    #[tokio::test]
    async fn each_parked_event_of_a_batch_hashes_to_its_own_bytes() {
        let events: Vec<serde_json::Value> = (0..4)
            .map(|i| serde_json::json!({"id": format!("EV{i}"), "resource_type": "payments", "action": "created", "pad": "y".repeat(if i == 2 { 3_000 } else { 1 })}))
            .collect();
        let body =
            serde_json::to_vec_pretty(&serde_json::json!({ "events": events })).expect("json");
        let seen = parked(
            "gocardless",
            "gocardless-endpoint-secret",
            "application/json",
            &body,
            2_000,
        )
        .await;
        assert_eq!(seen.len(), 4);
        for s in seen {
            let (m, data) = s.checked.expect("replayed");
            match data {
                Data::Hashed => assert_ne!(m.id, "EV2"),
                Data::ClaimChecked { .. } => {
                    assert_eq!(m.id, "EV2");
                    let digest = ParkedKey::parse(&s.key).expect("a key").digest.to_owned();
                    assert_eq!(s.body.map(|b| sha(&b)), Some(digest));
                }
                Data::Unhashable => panic!("{} is its event's bytes", m.id),
            }
        }
    }

    #[tokio::test]
    async fn data_built_from_a_form_cannot_be_rehashed() {
        let form = b"command=%2Fdeploy&text=prod&trigger_id=t.1&channel_id=C1";
        let ct = "application/x-www-form-urlencoded";
        let (seen, m, data) = parked_one("slack", "slack-secret", ct, form, 262_144).await;
        assert_eq!(
            seen.key,
            format!("undelivered/slack/t.1/{}.json", sha(form))
        );
        assert_eq!(
            (m.event_type.as_str(), data),
            ("slack.slash_command", Data::Unhashable)
        );
        // GitHub's form: the JSON in its payload field.
        let form = b"payload=%7B%22zen%22%3A%22x%22%7D";
        let (_, _, data) = parked_one("github", "github-secret", ct, form, 262_144).await;
        assert_eq!(data, Data::Unhashable);
    }

    #[test]
    fn keys_must_have_the_exact_shape_the_function_writes() {
        let d = "a".repeat(64);
        let good = format!("undelivered/stripe/evt_1.x-Y/{d}.json");
        assert_eq!(
            ParkedKey::parse(&good),
            Ok(ParkedKey {
                source: "stripe",
                segment: "evt_1.x-Y",
                digest: &d
            })
        );
        let hashed = format!("undelivered/shop-eu/sha256-{d}/{d}.json");
        assert!(ParkedKey::parse(&hashed).is_ok());
        for bad in [
            format!("undelivered/stripe/{d}.json"),
            format!("undelivered/stripe/evt_1/x/{d}.json"),
            format!("undelivered/stripe/../{d}.json"),
            format!("undelivered/stripe/./{d}.json"),
            format!("undelivered/stripe/evt_1/../{d}.json"),
            format!("undelivered/stripe/.evt/{d}.json"),
            format!("undelivered/stripe//{d}.json"),
            format!("undelivered//evt_1/{d}.json"),
            format!("undelivered/Stripe/evt_1/{d}.json"),
            format!("undelivered/str%70e/evt_1/{d}.json"),
            format!("undelivered/stripe/evt 1/{d}.json"),
            format!("undelivered/stripe/évt/{d}.json"),
            format!("undelivered/stripe/{}/{d}.json", "a".repeat(129)),
            format!("undelivered/stripe/evt_1/{}.json", d.to_uppercase()),
            format!("undelivered/stripe/evt_1/{}.json", &d[1..]),
            format!("undelivered/stripe/evt_1/{d}a.json"),
            format!("undelivered/stripe/evt_1/{d}.JSON"),
            format!("undelivered/stripe/evt_1/{d}"),
            format!("undelivered/stripe/evt_1/{d}.json/"),
            format!("payloads/stripe/evt_1/{d}.json"),
            format!("/undelivered/stripe/evt_1/{d}.json"),
            "undelivered/".to_owned(),
        ] {
            assert_eq!(ParkedKey::parse(&bad), Err(Refusal::KeyShape), "{bad}");
        }
    }

    /// The data of the envelope below, as its sender sent it (no whitespace around it).
    const DATA: &str = r#"{"id":"evt_1","type":"invoice.paid"}"#;

    /// A change to the envelope below.
    enum Op {
        /// Sets a member (replacing it, or adding it at the end) to this JSON text.
        Set(&'static str, String),
        /// Adds a member again, after the first.
        Again(&'static str, String),
        Drop(&'static str),
    }
    use Op::*;

    fn json(s: &str) -> String {
        serde_json::to_string(s).expect("a string")
    }

    /// The envelope a Stripe function parks for `DATA` as id `evt_1`, changed by `ops`.
    fn envelope(ops: &[Op]) -> String {
        let mut members: Vec<(&str, String)> = vec![
            ("specversion", json("1.0")),
            ("id", json("evt_1")),
            ("source", json("stripe")),
            ("type", json("stripe.invoice.paid")),
            ("time", json("2025-11-22T08:26:40.000Z")),
            ("datacontenttype", json("application/json")),
            ("data", DATA.to_owned()),
            ("inletreceivedat", json("2025-11-22T08:26:40.000Z")),
            ("inletbodysha256", json(&sha(DATA.as_bytes()))),
            ("inletverification", json("stripe-v1")),
            ("inletsecret", json("WEBHOOK_SECRET")),
        ];
        for op in ops {
            match op {
                Set(name, value) => match members.iter_mut().find(|(n, _)| n == name) {
                    Some(m) => m.1.clone_from(value),
                    None => members.push((name, value.clone())),
                },
                Again(name, value) => members.push((name, value.clone())),
                Drop(name) => members.retain(|(n, _)| n != name),
            }
        }
        let members: Vec<String> = members
            .iter()
            .map(|(n, v)| format!("{}:{v}", json(n)))
            .collect();
        format!("{{{}}}", members.join(","))
    }

    fn checked(stored: &str) -> Result<(Message, Data), Refusal> {
        let key = format!("undelivered/stripe/evt_1/{}.json", sha(DATA.as_bytes()));
        check(
            &ParkedKey::parse(&key).expect("a key"),
            STORE,
            stored.as_bytes(),
        )
    }

    /// A refusal's variant name, which a table of cases can name.
    fn variant(r: &Refusal) -> String {
        let debug = format!("{r:?}");
        debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn envelopes_that_disagree_with_their_key_are_refused() {
        let d = sha(DATA.as_bytes());
        let b64 = |s: &str| json(&B64.encode(s));
        let at = |path: String| Set("dataref", json(&format!("{STORE}{path}")));
        let batch = |index: &str, size: &str| {
            vec![
                Set("inletbatchsha256", json(&d)),
                Set("inletbatchindex", index.into()),
                Set("inletbatchsize", size.into()),
            ]
        };
        let long_type = json(&format!("stripe.{}", "a".repeat(250)));
        let cases: Vec<(&str, Vec<Op>, Result<Data, &str>)> = vec![
            ("as parked", vec![], Ok(Data::Hashed)),
            (
                "another source",
                vec![Set("source", json("github"))],
                Err("Source"),
            ),
            (
                "another spec",
                vec![Set("specversion", json("0.3"))],
                Err("SpecVersion"),
            ),
            (
                "another id",
                vec![Set("id", json("evt_2"))],
                Err("IdSegment"),
            ),
            ("an empty id", vec![Set("id", json(""))], Err("Id")),
            (
                "a long id",
                vec![Set("id", json(&"a".repeat(1025)))],
                Err("Id"),
            ),
            (
                "an id not a string",
                vec![Set("id", "1".into())],
                Err("NotAnEnvelope"),
            ),
            (
                "another digest",
                vec![Set("inletbodysha256", json(&"0".repeat(64)))],
                Err("Digest"),
            ),
            (
                "another's type",
                vec![Set("type", json("github.push"))],
                Err("Type"),
            ),
            (
                "a type alike",
                vec![Set("type", json("stripex.paid"))],
                Err("Type"),
            ),
            (
                "a type with no name",
                vec![Set("type", json("stripe."))],
                Err("Type"),
            ),
            ("a long type", vec![Set("type", long_type)], Err("Type")),
            (
                "the source as type",
                vec![Set("type", json("stripe"))],
                Ok(Data::Hashed),
            ),
            (
                "a long subject",
                vec![Set("subject", json(&"s".repeat(1025)))],
                Err("Subject"),
            ),
            (
                "a second type",
                vec![Again("type", json("stripe.x"))],
                Err("NotAnEnvelope"),
            ),
            (
                "a field it never writes",
                vec![Set("inletx", "1".into())],
                Err("NotAnEnvelope"),
            ),
            ("no time", vec![Drop("time")], Err("NotAnEnvelope")),
            (
                "changed data",
                vec![Set("data", DATA.replace('i', "j"))],
                Ok(Data::Unhashable),
            ),
            ("no data", vec![Drop("data")], Err("Payload")),
            (
                "null data",
                vec![Set("data", "null".into())],
                Err("Payload"),
            ),
            (
                "two payloads",
                vec![Set("data_base64", b64(DATA))],
                Err("Payload"),
            ),
            (
                "data_base64",
                vec![Drop("data"), Set("data_base64", b64(DATA))],
                Ok(Data::Hashed),
            ),
            (
                "other base64",
                vec![Drop("data"), Set("data_base64", b64("{}"))],
                Err("Base64Hash"),
            ),
            (
                "no base64",
                vec![Drop("data"), Set("data_base64", json("!"))],
                Err("Base64"),
            ),
            (
                "a dataref to where the function stores the body",
                vec![Drop("data"), at(format!("payloads/stripe/evt_1/{d}"))],
                Ok(Data::ClaimChecked {
                    key: format!("payloads/stripe/evt_1/{d}"),
                }),
            ),
            (
                "a dataref to another source's",
                vec![Drop("data"), at(format!("payloads/github/evt_1/{d}"))],
                Err("DataRef"),
            ),
            (
                "a dataref to another id's",
                vec![Drop("data"), at(format!("payloads/stripe/evt_2/{d}"))],
                Err("DataRef"),
            ),
            (
                "a dataref that climbs",
                vec![
                    Drop("data"),
                    at(format!("payloads/stripe/evt_1/../../x/{d}")),
                ],
                Err("DataRef"),
            ),
            (
                "a dataref to another bucket",
                vec![
                    Drop("data"),
                    Set(
                        "dataref",
                        json(&format!("s3://x/payloads/stripe/evt_1/{d}")),
                    ),
                ],
                Err("DataRef"),
            ),
            ("one event of a batch", batch("0", "2"), Ok(Data::Hashed)),
            ("an index past the batch", batch("2", "2"), Err("Batch")),
            (
                "half a batch",
                vec![Set("inletbatchindex", "0".into())],
                Err("Batch"),
            ),
        ];
        for (name, ops, expected) in cases {
            let got = checked(&envelope(&ops)).map(|(_, data)| data);
            assert_eq!(
                got.map_err(|r| variant(&r)),
                expected.map_err(str::to_owned),
                "{name}"
            );
        }
        let parked = envelope(&[]);
        for (name, stored) in [
            ("not JSON", "parked".to_owned()),
            ("empty", String::new()),
            ("an array", "[]".to_owned()),
            ("trailing text", format!("{parked} x")),
            ("two envelopes", format!("{parked}{parked}")),
        ] {
            let got = checked(&stored).map_err(|r| variant(&r));
            assert_eq!(got.map(|_| ()), Err("NotAnEnvelope".to_owned()), "{name}");
        }
        let key = format!("undelivered/stripe/evt_1/{d}.json");
        let key = ParkedKey::parse(&key).expect("a key");
        let mut stored = parked.into_bytes();
        stored.insert(1, 0xff);
        assert_eq!(
            check(&key, STORE, &stored).map(|_| ()),
            Err(Refusal::NotUtf8)
        );
    }

    #[test]
    fn the_message_is_the_stored_envelope_as_the_function_would_have_sent_it() {
        let stored = envelope(&[Set("subject", json("cus_1"))]);
        let (m, _) = checked(&stored).expect("replayed");
        assert_eq!(
            (
                m.id.as_str(),
                m.key.as_str(),
                m.source.as_str(),
                m.event_type.as_str(),
                m.group.as_str(),
                m.body.as_str()
            ),
            (
                "evt_1",
                "evt_1",
                "stripe",
                "stripe.invoice.paid",
                "cus_1",
                stored.as_str()
            )
        );
    }

    #[test]
    fn json_data_is_hashed_as_its_sender_sent_it() {
        let hashes = |data: &str, body: &str| json_hashes_to(data, &sha(body.as_bytes()));
        assert!(hashes(DATA, DATA));
        assert!(hashes(DATA, &format!("{DATA}\n")));
        assert!(hashes(DATA, &format!("{DATA}\r\n")));
        assert!(
            !hashes(DATA, &format!(" {DATA}")),
            "other whitespace is not guessed at"
        );
        assert!(!hashes(DATA, &format!("{DATA}\n\n")));
        assert!(!hashes(DATA, r#"{"id":"evt_1","type":"invoice.paid "}"#));
        // sqs_safe's escapes, undone; an escape the sender wrote itself hashes as it stands.
        let raw = "{\"a\":\"x\u{FFFE}y\u{FFFF}\"}";
        let safe = crate::core::envelope::sqs_safe(raw.to_owned());
        assert_ne!(safe, raw);
        assert!(hashes(&safe, raw));
        assert!(hashes(&safe, &format!("{raw}\n")));
        assert!(hashes(r#"{"a":"\ufffe"}"#, r#"{"a":"\ufffe"}"#));
        assert!(hashes(r#"{"a":"\\ufffe"}"#, r#"{"a":"\\ufffe"}"#));
        assert_eq!(
            unescape_nonchars(r#"{"a":"\\ufffe"}"#),
            None,
            "an escaped backslash, then text"
        );
        assert_eq!(
            unescape_nonchars(r#"{"a":"\\\ufffe\uFFFE\u0041"}"#).as_deref(),
            Some("{\"a\":\"\\\\\u{FFFE}\\uFFFE\\u0041\"}")
        );
        // Both the character and its escape written out: cannot be told apart, so unhashable.
        let mixed = "{\"a\":\"\u{FFFE}\\ufffe\"}";
        assert!(!hashes(
            &crate::core::envelope::sqs_safe(mixed.to_owned()),
            mixed
        ));
    }

    #[test]
    fn values_from_the_bucket_reach_the_report_escaped_and_short() {
        let why = checked(&envelope(&[Set(
            "type",
            json("\u{1b}]0;owned\u{7}stripe.x"),
        )]))
        .expect_err("refused")
        .to_string();
        assert!(!why.chars().any(char::is_control), "{why}");
        assert!(why.contains(r"\u{1b}]0;owned\u{7}"), "{why}");
        let why = checked(&envelope(&[Set("source", json(&"g".repeat(10_000)))]))
            .expect_err("refused")
            .to_string();
        assert!(why.len() < 300 && why.contains('…'), "{why}");
    }
}
