//! LaunchDarkly: `X-LD-Signature: <hex HMAC-SHA256(secret, raw body)>`, sent only when the webhook
//! was given a secret, which is used as its UTF-8 bytes
//! (https://launchdarkly.com/docs/home/infrastructure/webhooks, "Sign a webhook";
//! https://launchdarkly.com/docs/api/webhooks, "Signing the webhook": "an HMAC SHA256 hex digest of
//! the webhook payload, using the `secret` as the key"). A webhook without a secret is unsigned and
//! refused. The body is an audit log entry (the same page's sample payload): its `_id` (signed) is
//! the envelope id, `kind` + the first access's `action` the type
//! (`launchdarkly.environment.updatename`, `launchdarkly.flag.createflag`), the first of
//! `target.resources` the subject (`proj/alexis:env/test`), `date` (milliseconds, which the docs
//! recommend for reordering) the time. LaunchDarkly retries a failed delivery once, with the same
//! entry. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "launchdarkly",
    title: "LaunchDarkly",
    signature: Signature {
        at: &[Loc::Header("x-ld-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("_id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("kind")),
        TypePart::Optional(Loc::Json("accesses.0.action")),
    ],
    subject: &[Loc::Json("target.resources.0")],
    time: &[TimeLoc::At(Loc::Json("date"), Unit::Millis)],
    evidence: Evidence::Docs("getsentry/sentry's LaunchDarkly flag-audit-log webhook"),
    note: "no timestamp is signed, so no replay window applies (duplicates by the signed audit log entry id); a webhook without a secret is unsigned and refused",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "ld-webhook-secret";
    /// The sample payload of https://launchdarkly.com/docs/api/webhooks, without whitespace.
    const BODY: &[u8] = br#"{"_links":{"canonical":{"href":"/api/v2/projects/alexis/environments/test","type":"application/json"},"parent":{"href":"/api/v2/auditlog","type":"application/json"},"self":{"href":"/api/v2/auditlog/57c0a8e29969090743529965","type":"application/json"},"site":{"href":"/settings#/projects","type":"text/html"}},"_id":"57c0a8e29969090743529965","date":1472243938774,"accesses":[{"action":"updateName","resource":"proj/alexis:env/test"}],"kind":"environment","name":"Testing","description":"- Changed the name from ~~Test~~ to *Testing*","member":{"_links":{"parent":{"href":"/internal/account/members","type":"application/json"},"self":{"href":"/internal/account/members/548f6741c1efad40031b18ae","type":"application/json"}},"_id":"548f6741c1efad40031b18ae","email":"refapp@launchdarkly.com","firstName":"Reese","lastName":"Applebaum"},"titleVerb":"changed the name of","title":"[Reese Applebaum](mailto:refapp@launchdarkly.com) changed the name of [Testing](https://app.launchdarkly.com/settings#/projects)","target":{"_links":{"canonical":{"href":"/api/v2/projects/alexis/environments/test","type":"application/json"},"site":{"href":"/settings#/projects","type":"text/html"}},"name":"Testing","resources":["proj/alexis:env/test"]}}"#;
    /// Derived from https://launchdarkly.com/docs/api/webhooks (hex HMAC-SHA256 of the body,
    /// computed with Python's hmac), not published.
    const SIG: &str = "92851c9ef820f4568dc3a9f4630feea15640fd2796b8ca3ae2584895d577af8e";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("x-ld-signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-ld-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &format!("sha256={SIG}"))],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("x-ld-signature", SIG),
        ];
        assert_envelope(
            Source::new("launchdarkly", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("57c0a8e29969090743529965"),
                ty: "launchdarkly.environment.updatename",
                subject: Some("proj/alexis:env/test"),
                time: "2016-08-26T20:38:58.774Z",
            },
        );
    }
}
