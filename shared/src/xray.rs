//! AWS X-Ray subsegments for the calls a request made (the queue send, the idempotency marks, the
//! payload bucket, a secret re-read), sent to the X-Ray daemon Lambda runs beside a function with
//! active tracing (UDP, `AWS_XRAY_DAEMON_ADDRESS`), after the answer has left. Each is a child
//! of the invocation's function segment (the `Parent` of its trace header) and is annotated with
//! the source and the event's type, so traces can be searched by them
//! (`annotation.source = "github"`).
//!
//! There is no X-Ray SDK for Rust; the segment document is a small JSON format
//! (<https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>), written
//! here with serde. Nothing is sent for an invocation that is not sampled.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::core::outcome::{Outcome, Step};

/// The daemon's address variable; Lambda sets it when tracing is active.
pub const DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";
/// What precedes every document sent to the daemon.
const HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

/// The parts of an `X-Amzn-Trace-Id` (`Root=1-…;Parent=…;Sampled=1`) a subsegment needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHeader<'a> {
    pub root: &'a str,
    pub parent: Option<&'a str>,
    pub sampled: bool,
}

impl<'a> TraceHeader<'a> {
    pub fn parse(header: &'a str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", v)) => root = Some(v),
                Some(("Parent", v)) => parent = Some(v),
                Some(("Sampled", v)) => sampled = v == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root.filter(|r| !r.is_empty())?,
            parent,
            sampled,
        })
    }
}

/// The AWS resources the calls go to, recorded on their subsegments.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub region: Option<String>,
    pub queue_url: Option<String>,
    pub table_name: Option<String>,
    pub bucket: Option<String>,
}

/// Where subsegments go.
#[derive(Debug)]
pub struct Daemon {
    socket: UdpSocket,
    source: &'static str,
    resources: Resources,
    ids: Ids,
}

impl Daemon {
    /// A client of the daemon at `address` (`host:port`, or the SDKs' `udp:host:port tcp:…`
    /// form). `None` when the address does not resolve or no socket can be opened: tracing is
    /// then off, and the function serves as before.
    pub fn connect(address: &str, source: &'static str, resources: Resources) -> Option<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|a| a.strip_prefix("udp:"))
            .unwrap_or(address.trim());
        let target: SocketAddr = udp.to_socket_addrs().ok()?.next()?;
        let local: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(local).ok()?;
        socket.set_nonblocking(true).ok()?;
        socket.connect(target).ok()?;
        Some(Self {
            socket,
            source,
            resources,
            ids: Ids::new(),
        })
    }

    /// Sends a subsegment for each call of `outcome`, if the invocation is sampled. A datagram
    /// that cannot be sent is dropped: tracing never holds up or fails a request.
    pub fn send(&self, trace_header: &str, outcome: &Outcome) {
        for document in self.documents(trace_header, outcome) {
            let _ = self.socket.send(&document);
        }
    }

    /// The datagrams for `outcome`'s calls: the daemon's header line and a subsegment each.
    pub fn documents(&self, trace_header: &str, outcome: &Outcome) -> Vec<Vec<u8>> {
        let Some(header) = TraceHeader::parse(trace_header).filter(|h| h.sampled) else {
            return Vec::new();
        };
        let annotations = Annotations {
            source: self.source,
            ty: outcome.event_type.as_deref(),
        };
        outcome
            .calls
            .iter()
            .map(|call| {
                let (name, operation) = aws_call(call.step);
                let start = seconds(call.started);
                let segment = Subsegment {
                    name,
                    id: self.ids.next(),
                    trace_id: header.root,
                    parent_id: header.parent,
                    kind: "subsegment",
                    start_time: start,
                    end_time: start + call.elapsed.as_secs_f64(),
                    namespace: "aws",
                    fault: !call.ok,
                    annotations: &annotations,
                    aws: AwsCall {
                        operation,
                        region: self.resources.region.as_deref(),
                        queue_url: (name == "SQS")
                            .then_some(self.resources.queue_url.as_deref())
                            .flatten(),
                        table_name: (name == "DynamoDB")
                            .then_some(self.resources.table_name.as_deref())
                            .flatten(),
                        bucket_name: (name == "S3")
                            .then_some(self.resources.bucket.as_deref())
                            .flatten(),
                    },
                };
                let mut out = HEADER.to_vec();
                // A struct of strings and numbers always serializes.
                let _ = serde_json::to_writer(&mut out, &segment);
                out
            })
            .collect()
    }
}

/// The AWS service (as X-Ray names it) and operation behind each step.
fn aws_call(step: Step) -> (&'static str, &'static str) {
    match step {
        Step::SecretRefresh => ("SecretsManager", "GetSecretValue"),
        Step::MarkInProgress => ("DynamoDB", "PutItem"),
        Step::MarkDone => ("DynamoDB", "UpdateItem"),
        Step::ReleaseMark => ("DynamoDB", "DeleteItem"),
        Step::StorePayload | Step::ParkEnvelope => ("S3", "PutObject"),
        Step::QueueSend => ("SQS", "SendMessage"),
        Step::QueueSendBatch => ("SQS", "SendMessageBatch"),
    }
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[derive(Serialize)]
struct Subsegment<'a> {
    name: &'static str,
    id: String,
    trace_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    start_time: f64,
    end_time: f64,
    namespace: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    fault: bool,
    annotations: &'a Annotations<'a>,
    aws: AwsCall<'a>,
}

#[derive(Serialize)]
struct Annotations<'a> {
    source: &'a str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ty: Option<&'a str>,
}

#[derive(Serialize)]
struct AwsCall<'a> {
    operation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket_name: Option<&'a str>,
}

/// Subsegment ids: 64 bits, 16 hex digits, unique within a trace. A counter, hashed with a key
/// the process draws at random once (the standard library's `RandomState`), so ids differ across
/// instances of the function that write into the same trace.
#[derive(Debug)]
struct Ids {
    key: RandomState,
    next: AtomicU64,
}

impl Ids {
    fn new() -> Self {
        Self {
            key: RandomState::new(),
            next: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}", self.key.hash_one(n))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::outcome::{Call, Verdict};

    const SAMPLED: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:0";

    #[test]
    fn trace_headers_are_read_in_any_order() {
        assert_eq!(
            TraceHeader::parse(SAMPLED),
            Some(TraceHeader {
                root: "1-5759e988-bd862e3fe1be46a994272793",
                parent: Some("53995c3f42cd8ad8"),
                sampled: true
            })
        );
        let h = TraceHeader::parse("Sampled=0; Root=1-a-b").expect("a root");
        assert!(!h.sampled);
        assert_eq!(h.parent, None);
        assert_eq!(TraceHeader::parse("Parent=1;Sampled=1"), None);
        assert_eq!(TraceHeader::parse(""), None);
    }

    fn outcome() -> Outcome {
        let started = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        Outcome {
            verdict: Verdict::Enqueued {
                claim_checked: false,
            },
            event_type: Some("github.push".into()),
            body_bytes: 10,
            events: crate::core::outcome::Events {
                queued: 1,
                ..Default::default()
            },
            calls: vec![
                Call {
                    step: Step::MarkInProgress,
                    started,
                    elapsed: Duration::from_millis(4),
                    ok: true,
                },
                Call {
                    step: Step::QueueSend,
                    started: started + Duration::from_millis(5),
                    elapsed: Duration::from_millis(12),
                    ok: false,
                },
            ],
        }
    }

    #[test]
    fn each_call_is_a_subsegment_of_the_function_segment() {
        let daemon = Daemon::connect(
            "127.0.0.1:2000",
            "github",
            Resources {
                region: Some("eu-west-1".into()),
                queue_url: Some("https://sqs/q".into()),
                table_name: Some("marks".into()),
                bucket: None,
            },
        )
        .expect("a socket");
        let docs = daemon.documents(SAMPLED, &outcome());
        assert_eq!(docs.len(), 2);
        let mut ids = Vec::new();
        for (doc, (name, op)) in docs
            .iter()
            .zip([("DynamoDB", "PutItem"), ("SQS", "SendMessage")])
        {
            let (header, body) = doc.split_at(HEADER.len());
            assert_eq!(header, HEADER);
            let v: serde_json::Value = serde_json::from_slice(body).expect("json");
            assert_eq!(v["name"], name);
            assert_eq!(v["aws"]["operation"], op);
            assert_eq!(v["type"], "subsegment");
            assert_eq!(v["namespace"], "aws");
            assert_eq!(v["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
            assert_eq!(v["parent_id"], "53995c3f42cd8ad8");
            assert_eq!(v["annotations"]["source"], "github");
            assert_eq!(v["annotations"]["type"], "github.push");
            assert_eq!(v["aws"]["region"], "eu-west-1");
            let id = v["id"].as_str().expect("id").to_owned();
            assert!(
                id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            ids.push(id);
            let (start, end) = (
                v["start_time"].as_f64().expect("start"),
                v["end_time"].as_f64().expect("end"),
            );
            assert!(end > start && start > 1_700_000_000.0, "{start} {end}");
        }
        assert_ne!(ids[0], ids[1]);
        let sqs: serde_json::Value =
            serde_json::from_slice(&docs[1][HEADER.len()..]).expect("json");
        assert_eq!(sqs["aws"]["queue_url"], "https://sqs/q");
        assert!(sqs["aws"].get("table_name").is_none());
        assert_eq!(sqs["fault"], true, "the send failed");
        let mark: serde_json::Value =
            serde_json::from_slice(&docs[0][HEADER.len()..]).expect("json");
        assert_eq!(mark["aws"]["table_name"], "marks");
        assert!(mark.get("fault").is_none());
        assert!(
            (sqs["end_time"].as_f64().expect("end")
                - sqs["start_time"].as_f64().expect("start")
                - 0.012)
                .abs()
                < 1e-6
        );
    }

    #[test]
    fn nothing_is_sent_unless_sampled() {
        let daemon = Daemon::connect(
            "udp:127.0.0.1:2000 tcp:127.0.0.1:2000",
            "github",
            Resources::default(),
        )
        .expect("a socket");
        assert!(daemon
            .documents(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                &outcome()
            )
            .is_empty());
        assert!(daemon.documents("garbage", &outcome()).is_empty());
        assert_eq!(daemon.documents(SAMPLED, &outcome()).len(), 2);
    }
}
