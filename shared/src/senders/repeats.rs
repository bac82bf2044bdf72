//! What identical bytes are, sender by sender (issue 16): a sender whose envelope id can be the
//! body digest or an unsigned value says whether two deliveries of the same bytes can be two
//! events (`Scheme::repeats`), and the pipeline, with its idempotency store, does as it says:
//! a retry is recognised, a second event is never dropped.

use crate::scheme::{Loc, Repeats, Scheme};
use crate::senders::testing::*;
use crate::sources::Source;
use crate::verify::engine::{self, Signing};

/// One delivery of a sender: a body it sends and the headers besides the signature.
struct Case {
    name: &'static str,
    body: &'static [u8],
    headers: &'static [(&'static str, &'static str)],
}

/// One case for every sender whose first id location is the body digest or a value the
/// signature does not cover (a catalogue test keeps the list complete).
const CASES: &[Case] = &[
    Case {
        name: "github",
        body: br#"{"action":"deploy","branch":"main","client_payload":{},"repository":{"full_name":"o/r"}}"#,
        headers: &[("x-github-event", "repository_dispatch")],
    },
    Case {
        name: "gitea",
        body: br#"{"ref":"refs/tags/v1","repository":{"full_name":"o/r"}}"#,
        headers: &[("x-gitea-event", "push")],
    },
    Case {
        name: "forgejo",
        body: br#"{"ref":"refs/tags/v1","repository":{"full_name":"o/r"}}"#,
        headers: &[("x-forgejo-event", "push")],
    },
    Case {
        name: "gitlab",
        body: br#"{"object_kind":"tag_push","ref":"refs/tags/v1","project":{"path_with_namespace":"o/r"}}"#,
        headers: &[],
    },
    Case {
        name: "bitbucket",
        body: br#"{"push":{"changes":[]},"repository":{"full_name":"o/r"}}"#,
        headers: &[("x-event-key", "repo:push")],
    },
    Case {
        name: "sentry",
        body: br#"{"action":"triggered","data":{"issue":{"id":"1"}}}"#,
        headers: &[("sentry-hook-resource", "event_alert")],
    },
    Case {
        name: "razorpay",
        body: br#"{"event":"payment.captured","created_at":1700000000,"payload":{"payment":{"entity":{"id":"pay_1"}}}}"#,
        headers: &[],
    },
    Case {
        name: "sanity",
        body: br#"{"_id":"post-1","_type":"post"}"#,
        headers: &[("sanity-operation", "update")],
    },
    Case {
        name: "zendesk",
        body: br#"{"ticket":"12","status":"open"}"#,
        headers: &[],
    },
    Case {
        name: "twilio",
        body: b"CallSid=CA1&CallStatus=in-progress&Digits=1",
        headers: &[("content-type", "application/x-www-form-urlencoded")],
    },
    Case {
        name: "shopify",
        body: br#"{"id":820982911946154508,"email":"jon@example.com"}"#,
        headers: &[("x-shopify-topic", "orders/create")],
    },
    Case {
        name: "linear",
        body: br#"{"type":"Issue","action":"update","webhookTimestamp":1700000000000,"data":{"id":"i1"}}"#,
        headers: &[],
    },
    Case {
        name: "x",
        body: br#"{"for_user_id":"1","tweet_create_events":[{"id_str":"1700000000000000000"}]}"#,
        headers: &[],
    },
    Case {
        name: "zoom",
        body: br#"{"event":"meeting.started","event_ts":1700000000123,"payload":{"object":{"id":"1"}}}"#,
        headers: &[],
    },
    Case {
        name: "calendly",
        body: br#"{"event":"invitee.created","created_at":"2023-11-14T22:13:20.327602Z","payload":{"uri":"https://api.calendly.com/i/1"}}"#,
        headers: &[],
    },
    Case {
        name: "cloudinary",
        body: br#"{"notification_type":"upload","public_id":"a","version":1700000000}"#,
        headers: &[],
    },
    Case {
        name: "cloudinary-sha256",
        body: br#"{"notification_type":"upload","public_id":"a","version":1700000000}"#,
        headers: &[],
    },
    Case {
        name: "docusign",
        body: br#"{"event":"envelope-completed","generatedDateTime":"2023-11-14T22:13:20.1234567Z","data":{"envelopeId":"e1"}}"#,
        headers: &[],
    },
    Case {
        name: "postmark",
        body: br#"{"RecordType":"Delivery","MessageID":"m1","DeliveredAt":"2023-11-14T22:13:20Z"}"#,
        headers: &[],
    },
    Case {
        name: "telegram",
        body: br#"{"update_id":10000,"message":{"message_id":1,"date":1700000000,"chat":{"id":1}}}"#,
        headers: &[],
    },
    Case {
        name: "okta",
        body: br#"{"eventId":"d1","data":{"events":[{"uuid":"u1","published":"2023-11-14T22:13:20.000Z","eventType":"user.session.start","actor":{"id":"a"}}]}}"#,
        headers: &[],
    },
    Case {
        name: "xero",
        body: br#"{"events":[{"resourceId":"r1","eventDateUtc":"2023-11-14T22:13:20.123","eventType":"UPDATE","eventCategory":"CONTACT"}],"entropy":"ABC"}"#,
        headers: &[],
    },
    Case {
        name: "hubspot",
        body: br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1700000000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":4}]"#,
        headers: &[],
    },
    Case {
        name: "dropbox",
        body: br#"{"list_folder":{"accounts":["dbid:A"]},"delta":{"users":[1]}}"#,
        headers: &[],
    },
    Case {
        name: "graph",
        body: br#"{"value":[{"changeType":"updated","resource":"r","clientState":"inlet-dev-graph-secret"}]}"#,
        headers: &[],
    },
    Case {
        name: "woocommerce",
        body: br#"{"id":727}"#,
        headers: &[("x-wc-webhook-topic", "order.deleted")],
    },
    Case {
        name: "meta",
        body: br#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[{"field":"photos","value":{"verb":"update","object_id":"2"}}]}]}"#,
        headers: &[],
    },
    Case {
        name: "calcom",
        body: b"Booking updated",
        headers: &[("content-type", "text/plain")],
    },
    Case {
        name: "lemonsqueezy",
        body: br#"{"meta":{"event_name":"subscription_updated"},"data":{"id":"1","attributes":{"updated_at":"2023-11-14T22:13:20.000000Z"}}}"#,
        headers: &[],
    },
];

/// Whether `scheme`'s id can come from the body digest or a value its signature does not cover.
fn digest_or_unsigned_id(scheme: &Scheme) -> bool {
    scheme
        .id
        .first()
        .is_some_and(|loc| matches!(loc, Loc::Digest | Loc::DigestWithout(_)) || !scheme.signs(loc))
}

/// The secret `inlet` would use for `scheme` in development: its text, as the sender shows it.
fn secret_text(name: &str) -> String {
    match name {
        "graph" => "inlet-dev-graph-secret".to_owned(),
        "postmark" => "inlet:dev-postmark-password".to_owned(),
        _ => format!("inlet-dev-{name}-secret"),
    }
}

#[test]
fn every_sender_whose_id_is_a_digest_or_unsigned_has_a_case() {
    for scheme in crate::senders::CATALOGUE.iter() {
        // Senders that sign inside the body are covered in their own files (Braintree's repeats
        // test), SendGrid's ECDSA batches in sendgrid.rs.
        if !digest_or_unsigned_id(scheme) || ["braintree", "sendgrid"].contains(&scheme.name) {
            continue;
        }
        assert!(
            CASES.iter().any(|c| c.name == scheme.name),
            "{}: add a case saying what its identical bytes are",
            scheme.name
        );
    }
}

#[test]
fn identical_bytes_are_what_each_sender_says() {
    for case in CASES {
        let scheme = crate::senders::scheme(case.name).expect("a catalogue sender");
        let secret = secret_text(case.name);
        let key = engine::decode_secret(scheme, &secret).expect("secret");
        let source = || Source::new(case.name, scheme).with_public_url(URL);
        let sign = |id: &str| {
            let mut headers: Vec<(String, String)> = engine::sign(
                scheme,
                &key,
                &Signing::post(case.body, 1_700_000_000, id, Some(URL)),
            )
            // Graph's token is in the body itself.
            .or_else(|e| match scheme.signature.at.first() {
                Some(Loc::Json(_)) => Ok(Vec::new()),
                _ => Err(e),
            })
            .expect("signs");
            headers.extend(
                case.headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
            );
            if !headers.iter().any(|(n, _)| n == "content-type") {
                headers.push(("content-type".into(), "application/json".into()));
            }
            headers
        };
        let (a, b) = (sign("delivery-a"), sign("delivery-b"));
        let pairs = |h: &'static [(String, String)]| -> Vec<(&'static str, &'static str)> {
            h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
        };
        let (a, b): (&'static [_], &'static [_]) = (Box::leak(a.into()), Box::leak(b.into()));
        let (a, b) = (pairs(a), pairs(b));
        let (a, b) = (
            Box::leak(a.into_boxed_slice()),
            Box::leak(b.into_boxed_slice()),
        );
        let first = Request::post(a, case.body, 1_700_000_000);
        let other = Request::post(b, case.body, 1_700_000_000);
        let unsigned_delivery_id = scheme
            .id
            .iter()
            .any(|l| matches!(l, Loc::Header(_)) && !scheme.signs(l));
        match scheme.repeats {
            Repeats::Retry => assert_identical_bytes_are_a_retry(source(), &secret, first),
            Repeats::Distinct if unsigned_delivery_id => {
                assert_told_apart_by_delivery_id(source(), &secret, first, other)
            }
            Repeats::Distinct => assert_identical_bytes_are_two_events(source(), &secret, first),
        }
    }
}
