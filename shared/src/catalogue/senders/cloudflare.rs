//! Cloudflare Notifications (generic webhook destinations): `cf-webhook-auth: <secret>`, the
//! secret given when the destination was created, sent verbatim on every dispatch and compared
//! with the configured secret in constant time. Sources: Cloudflare's docs
//! (https://developers.cloudflare.com/notifications/get-started/configure-webhooks/: the secret
//! "will be sent in the cf-webhook-auth header"; the payload schema,
//! https://developers.cloudflare.com/notifications/reference/webhook-payload-schema/) and the
//! Cloudflare API's `alerting/destinations/webhooks` `secret` field (as the Terraform/Pulumi
//! `NotificationPolicyWebhooks` resource sets it). A token signs nothing: the body's values are
//! unsigned. No timestamp is signed, so no replay window applies. The body is one notification,
//! `{"name","text","data","ts","account_id","policy_id","alert_type","alert_correlation_id",
//! "alert_event"}`: Cloudflare sends no notification id, so the id is the body digest (a
//! notification's `ts`, policy and alert data make its bytes its own; inferred), `alert_type` the
//! type (`cloudflare.http_alert_origin_error`), `ts` (unix seconds) the time. The test message
//! Cloudflare posts when a destination is saved has only `text`: it is typed `cloudflare`, and
//! must be answered 2xx for the destination to save. Cloudflare Stream's
//! `Webhook-Signature: time=…,sig1=…` webhooks are another scheme, not this one.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "cloudflare",
    title: "Cloudflare Notifications",
    signature: Signature {
        at: &[Loc::Header("cf-webhook-auth")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    id: &[Loc::Digest],
    ty: &[TypePart::Optional(Loc::Json("alert_type"))],
    subject: &[Loc::Json("policy_id")],
    time: &[TimeLoc::At(Loc::Json("ts"), Unit::Seconds)],
    evidence: Evidence::Docs("Cloudflare's webhook destination docs and payload schema; the Cloudflare Terraform/Pulumi NotificationPolicyWebhooks secret"),
    note: "a shared token (cf-webhook-auth) signs nothing; no notification id: the id is the body digest; the creation test message is typed `cloudflare`",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the token covers no byte of the body, so the every-byte tampering check does
/// not apply.
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const TOKEN: &str = "cf-destination-secret";
    /// Shaped as the `http_alert_origin_error` example of Cloudflare's payload schema, shortened.
    const BODY: &[u8] = br#"{"name":"Origin errors","text":"Origin error rate above threshold for example.com","data":{"zone_name":"example.com","error_rate":0.12},"ts":1700000000,"account_id":"9035f53656c4bd6ae3a1f0f6d8e4e1a0","policy_id":"d5f3c9a2-3b1e-4e8f-9a6b-2c4d5e6f7a8b","policy_name":"Origin errors","alert_type":"http_alert_origin_error","alert_correlation_id":"1f2e3d4c-5b6a-4789-8abc-def012345678","alert_event":"ALERT_STATE_EVENT_START"}"#;

    fn post(token: &str, body: &[u8]) -> Delivered {
        deliver(
            Source::new("cloudflare", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("cf-webhook-auth", token),
                ],
                body,
                1_700_000_005,
            ),
        )
    }

    #[test]
    fn the_token_must_equal_the_secret() {
        // Derived from Cloudflare's docs (not published): the header carries the secret verbatim.
        let header = "cf-webhook-auth";
        assert_missing_and_duplicate(&SCHEME, TOKEN, BODY, 0, &[(header, TOKEN)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[("authorization", &format!("Bearer {TOKEN}"))],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, "cf-destination-secreT")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[TOKEN.as_bytes()], BODY, 0, cases);
        let d = post("guess", BODY);
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn an_alert() {
        let d = post(TOKEN, BODY);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert!(e["id"].as_str().is_some_and(|id| id.starts_with("sha256:")));
        assert_eq!(e["type"], "cloudflare.http_alert_origin_error");
        assert_eq!(e["subject"], "d5f3c9a2-3b1e-4e8f-9a6b-2c4d5e6f7a8b");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn the_creation_test_message_is_accepted() {
        let d = post(
            TOKEN,
            br#"{"text":"Hello World! This is a test message sent from https://cloudflare.com. If you can see this, your webhook is configured properly."}"#,
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes[0]["type"], "cloudflare");
    }
}
