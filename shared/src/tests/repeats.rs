//! What identical bytes are, sender by sender (issue 16): a sender whose envelope id can be the
//! body digest or an unsigned value says whether two deliveries of the same bytes can be two
//! events (`Scheme::repeats`), and the pipeline, with its idempotency store, does as it says:
//! a retry is recognised, a second event is never dropped.

use crate::catalogue::sources::Source;
use crate::core::scheme::{Loc, Repeats, Scheme};
use crate::core::verify::engine::{self, Signing};
use crate::tests::*;

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
        name: "netlify",
        body: br#"{"id":"5ebc34bf4fea0b01f02efa3a","state":"ready","updated_at":"2020-05-13T17:58:56.738Z"}"#,
        headers: &[],
    },
    Case {
        name: "mandrill",
        body: b"mandrill_events=%5B%7B%22event%22%3A%22open%22%2C%22_id%22%3A%22m1%22%2C%22ts%22%3A1700000000%7D%5D",
        headers: &[("content-type", "application/x-www-form-urlencoded")],
    },
    Case {
        name: "contentful",
        body: br#"{"sys":{"type":"Entry","id":"e1","revision":3,"updatedAt":"2023-11-14T22:13:20.000Z"}}"#,
        headers: &[("x-contentful-topic", "ContentManagement.Entry.publish")],
    },
    Case {
        name: "plivo",
        body: b"MessageUUID=m1&Status=delivered&To=14155555678",
        headers: &[("content-type", "application/x-www-form-urlencoded")],
    },
    Case {
        name: "vonage",
        body: br#"{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","status":"delivered","timestamp":"2025-02-03T12:14:25Z"}"#,
        headers: &[],
    },
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
        name: "recurly",
        body: br#"{"id":"rjxwmwedwqug","object_type":"account","event_type":"updated","event_time":"2022-09-13T21:18:40Z","account_code":"a1"}"#,
        headers: &[],
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
        name: "hubspot-v1",
        body: br#"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1700000000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":4}]"#,
        headers: &[],
    },
    Case {
        name: "hubspot-v2",
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
    Case {
        name: "asana",
        body: br#"{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2018-11-30T22:27:17.165Z","action":"changed","resource":{"gid":"2","resource_type":"task"},"parent":null,"change":{"field":"name","action":"changed"}}]}"#,
        headers: &[],
    },
    Case {
        name: "adyen-platform",
        body: br#"{"data":{"balancePlatform":"P","accountHolder":{"id":"AH1","status":"active"}},"environment":"test","timestamp":"2023-11-14T22:13:20+00:00","type":"balancePlatform.accountHolder.created"}"#,
        headers: &[],
    },
    Case {
        name: "webex",
        body: br#"{"id":"WH1","resource":"memberships","event":"updated","data":{"id":"M1","isModerator":true,"created":"2023-11-14T22:13:20.000Z"}}"#,
        headers: &[],
    },
    Case {
        name: "elevenlabs",
        body: br#"{"type":"post_call_transcription","event_timestamp":1700000000,"data":{"conversation_id":"c1"}}"#,
        headers: &[],
    },
    Case {
        name: "jira",
        body: br#"{"timestamp":1700000000123,"webhookEvent":"jira:issue_updated","issue":{"id":"10002","key":"ED-1"}}"#,
        headers: &[],
    },
    Case {
        name: "airtable",
        body: br#"{"base":{"id":"app00000000000000"},"webhook":{"id":"ach00000000000000"},"timestamp":"2023-11-14T22:13:20.123Z"}"#,
        headers: &[],
    },
    Case {
        name: "terraform",
        body: br#"{"payload_version":1,"run_id":"run-1","notifications":[{"trigger":"run:completed","run_status":"applied","run_updated_at":"2023-11-14T22:13:20.000Z"}]}"#,
        headers: &[],
    },
    Case {
        name: "paystack",
        body: br#"{"event":"charge.success","data":{"id":302961,"reference":"qTPrJoy9Bx","paid_at":"2023-11-14T22:13:20.000Z"}}"#,
        headers: &[],
    },
    Case {
        name: "mongodb",
        body: br#"{"id":"a1","eventTypeName":"OUTSIDE_METRIC_THRESHOLD","status":"OPEN","updated":"2023-11-14T22:13:20Z","lastNotified":"2023-11-14T22:13:21Z"}"#,
        headers: &[],
    },
    Case {
        name: "modern-treasury",
        body: br#"{"event":"completed","data":{"id":"p1","object":"payment_order","updated_at":"2023-11-14T22:13:20Z"}}"#,
        headers: &[],
    },
    Case {
        name: "help-scout",
        body: br#"{"id":12345,"status":"active","userUpdatedAt":"2023-11-14T22:13:20Z"}"#,
        headers: &[("x-helpscout-event", "convo.status")],
    },
    Case {
        name: "autodesk",
        body: br#"{"version":"1.0","resourceUrn":"urn:adsk.wipprod:fs.file:vf.a?version=2","hook":{"system":"data","event":"dm.version.added"},"payload":{"modifiedTime":"2023-11-14T22:13:20+0000"}}"#,
        headers: &[],
    },
    Case {
        name: "bolt",
        body: br#"{"id":"TA1","reference":"AAAA-BBBB-CCCC","type":"capture","amount":1000,"currency":"USD","status":"completed"}"#,
        headers: &[],
    },
    Case {
        name: "castle",
        body: br#"{"type":"$incident.confirmed","created_at":"2023-11-14T22:13:20.123Z","data":{"id":"d1","user_id":"u1"}}"#,
        headers: &[],
    },
    Case {
        name: "clearbit",
        body: br#"{"id":"lookup-1","status":200,"type":"person","body":{"id":"p1"}}"#,
        headers: &[],
    },
    Case {
        name: "go1",
        body: br#"{"type":"user.create","fired_at":"2023-11-14T22:13:20+0000","data":{"id":"1"}}"#,
        headers: &[],
    },
    Case {
        name: "sonatype",
        body: br#"{"timestamp":"2023-11-14T22:13:20.123+0000","nodeId":"N1","repositoryName":"npm-proxy","action":"CREATED"}"#,
        headers: &[("x-nexus-webhook-id", "rm:repository:asset")],
    },
    Case {
        name: "trendmicro-conformity",
        body: br#"{"ruleId":"EC2-001","status":"FAILURE"}"#,
        headers: &[],
    },
    Case {
        name: "pusher",
        body: br#"{"time_ms":1700000000000,"events":[{"name":"channel_occupied","channel":"c1"}]}"#,
        headers: &[],
    },
    Case {
        name: "attio",
        body: br#"{"webhook_id":"w1","events":[{"event_type":"record.updated","id":{"workspace_id":"ws","object_id":"o","record_id":"r","attribute_id":"a"},"actor":{"type":"workspace-member","id":"m"}}]}"#,
        headers: &[],
    },
    Case {
        name: "retell",
        body: br#"{"event":"call_ended","call":{"call_id":"c1","end_timestamp":1700000000000}}"#,
        headers: &[],
    },
    Case {
        name: "webflow",
        body: br#"{"triggerType":"collection_item_changed","payload":{"id":"item-1","lastUpdated":"2023-11-14T22:13:20.123Z"}}"#,
        headers: &[],
    },
    Case {
        name: "buildkite",
        body: br#"{"event":"build.finished","build":{"id":"b1","state":"passed","finished_at":"2023-11-14T22:13:19.000Z"}}"#,
        headers: &[],
    },
    Case {
        name: "buildkite-token",
        body: br#"{"event":"build.finished","build":{"id":"b1","state":"passed","finished_at":"2023-11-14T22:13:19.000Z"}}"#,
        headers: &[],
    },
    Case {
        name: "cloudflare",
        body: br#"{"name":"p","text":"t","data":{},"ts":1700000000,"policy_id":"p1","alert_type":"http_alert_origin_error","alert_correlation_id":"c1"}"#,
        headers: &[],
    },
    Case {
        name: "auth0",
        body: br#"[{"log_id":"900200001","data":{"date":"2023-11-14T22:13:20.000Z","type":"s","user_id":"auth0|1"}}]"#,
        headers: &[],
    },
    Case {
        name: "pipedrive",
        body: br#"{"data":{"id":1,"update_time":"2023-11-14T22:13:20Z"},"previous":null,"meta":{"action":"change","entity":"deal","entity_id":1,"attempt":1,"timestamp":1700000000}}"#,
        headers: &[],
    },
    Case {
        name: "chargebee",
        body: br#"{"id":"ev_1","occurred_at":1700000000,"event_type":"subscription_created","content":{}}"#,
        headers: &[],
    },
    Case {
        name: "whatsapp",
        body: br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.1","status":"read"}]}}]}]}"#,
        headers: &[],
    },
    Case {
        name: "instagram",
        body: br#"{"object":"instagram","entry":[{"id":"1","time":1700000000,"changes":[{"field":"mentions","value":{"media_id":"2"}}]}]}"#,
        headers: &[],
    },
    Case {
        name: "messenger",
        body: br#"{"object":"page","entry":[{"id":"1","time":1700000000,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"read":{"watermark":1700000000}}]}]}"#,
        headers: &[],
    },
    Case {
        name: "tiktok",
        body: br#"{"event":"authorization.removed","create_time":1700000000,"user_openid":"act.1","content":"{\"reason\":1}"}"#,
        headers: &[],
    },
    Case {
        name: "sinch",
        body: br#"{"app_id":"a","accepted_time":"2023-11-14T22:13:20.123456Z","project_id":"p","message":{"id":"m1","contact_message":{"text_message":{"text":"hi"}}}}"#,
        headers: &[],
    },
    Case {
        name: "hygraph",
        body: br#"{"operation":"update","data":{"__typename":"Post","id":"p1","updatedAt":"2023-11-14T22:13:20.123456+00:00"}}"#,
        headers: &[],
    },
    Case {
        name: "tailscale",
        body: br#"[{"timestamp":"2023-11-14T22:13:20.123456Z","version":1,"type":"nodeCreated","tailnet":"example.com","data":{"nodeID":"n1"}}]"#,
        headers: &[],
    },
    Case {
        name: "signal-sciences",
        body: br#"{"created":"2023-11-14T22:13:20Z","type":"flag","payload":{"source":"198.51.100.7"}}"#,
        headers: &[],
    },
    Case {
        name: "frameio",
        body: br#"{"account":{"id":"a"},"resource":{"id":"r1","type":"file"},"type":"comment.updated","workspace":{"id":"w"}}"#,
        headers: &[],
    },
    Case {
        name: "nango",
        body: br#"{"type":"auth","operation":"refresh","connectionId":"c1","success":false,"error":{"type":"refresh_token_external_error","description":"invalid_grant"}}"#,
        headers: &[],
    },
    Case {
        name: "commercelayer",
        body: br#"{"data":{"id":"o1","type":"orders","attributes":{"status":"placed","updated_at":"2023-11-14T22:13:20.000Z"}}}"#,
        headers: &[("x-commercelayer-topic", "orders.place")],
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
        "pipedrive" | "chargebee" => format!("inlet:dev-{name}-password"),
        // Hex keys: the text's hex, as `inlet serve` writes it.
        "adyen-platform" => hex::encode("inlet-dev-adyen-platform-secret"),
        "airtable" => "aW5sZXQtZGV2LWFpcnRhYmxlLXNlY3JldA==".to_owned(),
        _ => format!("inlet-dev-{name}-secret"),
    }
}

#[test]
fn every_sender_whose_id_is_a_digest_or_unsigned_has_a_case() {
    for scheme in crate::catalogue::senders::CATALOGUE.iter() {
        // Senders that sign inside the body are covered in their own files (Braintree's repeats
        // test), SendGrid's ECDSA batches in sendgrid.rs, Plaid's (whose key is fetched, which
        // this pipeline has no port for) in plaid.rs, the RSA senders' (signed with a private
        // key) in fireblocks.rs and wise.rs.
        if !digest_or_unsigned_id(scheme)
            || ["braintree", "sendgrid", "plaid", "fireblocks", "wise"].contains(&scheme.name)
        {
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
        let scheme = crate::catalogue::senders::scheme(case.name).expect("a catalogue sender");
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
