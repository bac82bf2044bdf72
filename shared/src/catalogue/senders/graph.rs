//! Microsoft Graph change notifications: no signature. Each notification in `value[]` carries
//! the `clientState` chosen when subscribing, which must equal the configured secret (a shared
//! token, compared in constant time). The verifier checks `value[0]`; the code below refuses a
//! batch in which any other notification carries a different `clientState`. A token signs
//! nothing, and Graph sends no delivery id, so the id is the body digest; the type is the first
//! notification's `changeType` (`graph.created`) or, for lifecycle notifications,
//! `lifecycleEvent` (`graph.reauthorizationrequired`). Creating a subscription sends `POST
//! ?validationToken=T`, answered 200 `text/plain` `T`. Rich notifications' `validationTokens`
//! (Microsoft-signed JWTs) are not checked. No timestamp. The CLI signs by writing the
//! `clientState` into every notification.

use std::time::SystemTime;

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::json::Doc;
use crate::core::normalize::{Disposition, NormalizeError};
use crate::core::scheme::*;
use crate::core::verify::engine::Signing;
use crate::core::verify::Verified;

pub const SCHEME: Scheme = Scheme {
    name: "graph",
    title: "Microsoft Graph",
    signature: Signature {
        at: &[Loc::Json("value.0.clientState")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    batch: Some(Batch { items: "value" }),
    // The notification's optional `id`, else nothing: two updates of one resource can be the
    // same bytes (a lifecycle notice repeats every 15 minutes).
    id: &[Loc::Json("id"), Loc::Digest],
    repeats: Repeats::Distinct,
    ty: &[
        TypePart::Optional(Loc::Json("changeType")),
        TypePart::Optional(Loc::Json("lifecycleEvent")),
    ],
    subject: &[Loc::Json("resource")],
    handshakes: &[Handshake::GraphValidation],
    custom: Some(&EveryClientState),
    evidence: Evidence::Docs("Microsoft's aspnetcore-webhooks-sample"),
    note: "clientState is a shared token, checked on every notification; a delivery is a batch: one envelope per notification of value[]; identical notifications can be distinct changes, so those without an id are all queued (at-least-once)",
    ..Scheme::BASE
};

/// Refuses a batch in which a notification after the first carries another `clientState`; signs
/// by writing it into every notification.
#[derive(Debug)]
struct EveryClientState;

impl Custom for EveryClientState {
    /// The token is in the body: no header to add.
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(Ok(Vec::new()))
    }

    /// The body with `clientState` set to the secret in every notification of `value`, as Graph
    /// sends it (`inlet sign`, `send` and `event`).
    fn sign_body(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        Some(sign_body(key, s))
    }

    fn normalize<'b>(
        &self,
        _source: &str,
        v: &Verified<'b>,
        _received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        let raw: &RawValue = serde_json::from_slice(v.body()).ok()?;
        let items: Vec<&RawValue> =
            serde_json::from_str(crate::core::json::lookup(raw, "value")?.get()).ok()?;
        // Hashing both sides keeps the comparison constant-time in the secret's length too.
        let want = Sha256::digest(v.key());
        let all_match = items.iter().all(|item| {
            Doc::Json(item)
                .text("clientState")
                .is_some_and(|state| bool::from(Sha256::digest(state.as_bytes()).ct_eq(&want)))
        });
        // Every one matches: the engine goes on as the data says.
        (!all_match).then_some(Err(NormalizeError::InvalidField {
            field: "value.clientState",
            reason: "every notification in the batch must carry the clientState that matched",
        }))
    }
}

fn sign_body(key: &[u8], s: &Signing<'_>) -> Result<Vec<u8>, String> {
    let state = std::str::from_utf8(key).map_err(|_| "graph: the clientState is not text")?;
    let mut doc: serde_json::Value =
        serde_json::from_slice(s.body).map_err(|e| format!("graph: {e}"))?;
    let notifications = doc
        .get_mut("value")
        .and_then(serde_json::Value::as_array_mut)
        .filter(|items| !items.is_empty() && items.iter().all(serde_json::Value::is_object))
        .ok_or("graph: the body must be {\"value\": [notification, …]}")?;
    for notification in notifications {
        notification["clientState"] = state.into();
    }
    serde_json::to_vec(&doc).map_err(|e| format!("graph: {e}"))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the clientState proves the sender but covers no byte of the body, so the helper's
/// every-byte tampering check does not apply (nothing from the body is trusted instead).
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const CLIENT_STATE: &str = "secretClientValue";
    /// The sample notification of
    /// https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks, compact.
    const BODY: &[u8] = br##"{"value":[{"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","subscriptionExpirationDateTime":"2016-11-20T18:23:45.9356913Z","changeType":"created","resource":"Users/dcf83a9c-2d6e-4a64-b1e3-3bb0c4b2a6f2/Messages/AAMkADY0","resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/dcf83a9c-2d6e-4a64-b1e3-3bb0c4b2a6f2/Messages/AAMkADY0","id":"AAMkADY0"},"clientState":"secretClientValue","tenantId":"bb8775a4-4d8c-42cf-a1d4-4d58c2bb668f"}]}"##;

    fn post(body: &[u8], query: &str) -> Delivered {
        deliver(
            Source::new("graph", &SCHEME),
            CLIENT_STATE,
            Request {
                method: &http::Method::POST,
                query,
                headers: &[("content-type", "application/json")],
                body,
                now: 1_700_000_000,
            },
        )
    }

    #[test]
    fn the_client_state_must_equal_the_secret() {
        // Derived from the docs above (not published): clientState is the subscription's secret
        // verbatim.
        let key: &[&[u8]] = &[CLIENT_STATE.as_bytes()];
        check(&SCHEME, key, &[], BODY, 0).expect("verifies");
        let header = "value.0.clientState";
        assert_eq!(
            check(&SCHEME, &[b"anotherClientValue"], &[], BODY, 0),
            Err(VerifyError::SignatureMismatch { header })
        );
        let without = br#"{"value":[{"changeType":"created","resource":"r"}]}"#;
        assert_eq!(
            check(&SCHEME, key, &[], without, 0),
            Err(VerifyError::MissingSignature { header })
        );
        assert_eq!(
            check(&SCHEME, key, &[], b"not json", 0),
            Err(VerifyError::MissingSignature { header })
        );
    }

    #[test]
    fn a_change_notification() {
        let d = post(BODY, "");
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"].as_str().expect("id").len(), 36, "an id of its own");
        assert_eq!(e["type"], "graph.created");
        assert_eq!(
            e["subject"],
            "Users/dcf83a9c-2d6e-4a64-b1e3-3bb0c4b2a6f2/Messages/AAMkADY0"
        );
    }

    /// Two updates of one message are the same bytes (no id, no time): each is queued. The
    /// hostile round saw the second dropped as a duplicate for the idempotency window.
    #[test]
    fn identical_notifications_are_two_events() {
        let req = Request::post(&[("content-type", "application/json")], BODY, 1_700_000_000);
        assert_identical_bytes_are_two_events(Source::new("graph", &SCHEME), CLIENT_STATE, req);
        // A notification with Graph's optional `id` is recognised when it comes again, and
        // another id is another event.
        let with_id = |id: &str| {
            format!(
                r#"{{"value":[{{"id":"{id}","changeType":"updated","resource":"r","clientState":"secretClientValue"}}]}}"#
            )
        };
        let (a, b) = (with_id("lsgTZMr9KwAAA"), with_id("lsgTZMr9KwBBB"));
        let d = deliver_again(
            Source::new("graph", &SCHEME),
            CLIENT_STATE,
            &[
                Request::post(&[], a.as_bytes(), 1_700_000_000),
                Request::post(&[], a.as_bytes(), 1_700_000_000),
                Request::post(&[], b.as_bytes(), 1_700_000_000),
            ],
        );
        assert_eq!(counts(&d), [1, 0, 1]);
        assert_eq!(d[0].envelopes[0]["id"], "lsgTZMr9KwAAA");
    }

    #[test]
    fn every_notification_of_a_batch_must_carry_the_client_state() {
        let good = br#"{"value":[{"changeType":"updated","resource":"a","clientState":"secretClientValue"},{"changeType":"deleted","resource":"b","clientState":"secretClientValue"}]}"#;
        let d = post(good, "");
        assert_eq!(d.reply.status, 202, "{}", d.text());
        // One envelope per notification.
        let types: Vec<&str> = d
            .envelopes
            .iter()
            .map(|e| e["type"].as_str().expect("type"))
            .collect();
        assert_eq!(types, ["graph.updated", "graph.deleted"]);
        assert_eq!(d.envelopes[1]["subject"], "b");
        for bad in [
            &br#"{"value":[{"changeType":"updated","resource":"a","clientState":"secretClientValue"},{"changeType":"deleted","resource":"b","clientState":"forged"}]}"#[..],
            br#"{"value":[{"changeType":"updated","resource":"a","clientState":"secretClientValue"},{"changeType":"deleted","resource":"b"}]}"#,
        ] {
            let d = post(bad, "");
            assert_eq!(d.reply.status, 400, "{}", d.text());
            assert!(d.envelopes.is_empty());
        }
        let forged =
            br#"{"value":[{"changeType":"updated","resource":"a","clientState":"forged"}]}"#;
        let d = post(forged, "");
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn signing_writes_the_client_state_into_every_notification() {
        use crate::core::verify::engine::{sign, sign_body};
        let signing = posted;
        let two = br#"{"value":[{"changeType":"updated","resource":"a"},{"changeType":"deleted","resource":"b","clientState":"old"}]}"#;
        let written = sign_body(&SCHEME, CLIENT_STATE.as_bytes(), &signing(two))
            .expect("signs")
            .expect("a body");
        let doc: serde_json::Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(doc["value"][0]["clientState"], CLIENT_STATE);
        assert_eq!(doc["value"][1]["clientState"], CLIENT_STATE);
        assert_eq!(
            sign(&SCHEME, CLIENT_STATE.as_bytes(), &signing(&written)),
            Ok(Vec::new()),
            "no header"
        );
        let d = post(&written, "");
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        for not_notifications in [&b"{}"[..], br#"{"value":[]}"#, br#"{"value":[1]}"#, b"[]"] {
            assert!(sign_body(
                &SCHEME,
                CLIENT_STATE.as_bytes(),
                &signing(not_notifications)
            )
            .is_err());
        }
    }

    #[test]
    fn lifecycle_notifications_are_typed_by_their_event() {
        let body = br#"{"value":[{"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","subscriptionExpirationDateTime":"2019-09-18T18:23:45.9356913Z","tenantId":"bb8775a4-4d8c-42cf-a1d4-4d58c2bb668f","clientState":"secretClientValue","lifecycleEvent":"reauthorizationRequired"}]}"#;
        let d = post(body, "");
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes[0]["type"], "graph.reauthorizationrequired");
    }

    #[test]
    fn the_validation_token_is_echoed_as_plain_text() {
        let d = post(b"", "validationToken=Validation%3AToken-6a3d2c");
        assert_eq!(d.reply.status, 200);
        assert_eq!(d.text(), "Validation:Token-6a3d2c");
        assert!(d
            .reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")));
        // An echo of the caller's bytes is never sniffed as HTML (issue 16).
        assert_eq!(d.reply.header("x-content-type-options"), Some("nosniff"));
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn the_validation_token_as_microsoft_sends_it() {
        let d = post(
            b"",
            "validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+6a3d2c8e-5b0f-4a59-8e6a-3a5b3c1d7e4f",
        );
        assert_eq!(d.reply.status, 200);
        assert_eq!(
            d.text(),
            "Validation: Testing client application reachability for subscription Request-Id: 6a3d2c8e-5b0f-4a59-8e6a-3a5b3c1d7e4f"
        );
    }
}
