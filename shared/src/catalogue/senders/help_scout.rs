//! Help Scout (Mailbox API webhooks): `X-HelpScout-Signature: <base64 HMAC-SHA1(secret key, raw
//! body)>`, the webhook's secret key used as its UTF-8 bytes. Help Scout's docs
//! (https://developer.helpscout.com/webhooks/, "Verifying": the PHP verifier
//! `base64_encode(hash_hmac('sha1', $data, WEBHOOK_SECRET_KEY, true))` over the raw request
//! body) name the header, the hash, the encoding and the key. The body is the changed object
//! (a conversation, customer, rating, chat or tag, or `{"id": …}` when one is deleted) and says
//! nothing of the event: the type is the `X-HelpScout-Event` header (`help-scout.convo.assigned`,
//! `help-scout.customer.created`), which the signature does not cover and which is held to
//! Help Scout's own alphabet (letters, digits, `.`, `-`). `id` is the subject. The body has no
//! event id and two events can carry identical bytes (inferred: one action that assigns a
//! conversation and changes its status would send `convo.assigned` and `convo.status` with the
//! same conversation object),
//! so identical bytes are not taken for a retry: every delivery is queued under an id of its own
//! (at-least-once). No timestamp is signed, so no replay window applies; the time is the
//! object's `userUpdatedAt`, else `createdAt`.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "help-scout",
    title: "Help Scout",
    signature: Signature {
        at: &[Loc::Header("x-helpscout-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Header("x-helpscout-event"))],
    type_chars: ".-",
    subject: &[Loc::Json("id")],
    time: &[
        TimeLoc::At(Loc::Json("userUpdatedAt"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339),
    ],
    evidence: Evidence::Docs("Help Scout's own PHP verifier in its Webhooks docs"),
    note: "the type (X-HelpScout-Event) is an unsigned header (validated); no event id and identical bodies can be two events, so nothing is suppressed (at-least-once); no timestamp is signed",
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::tests::*;

    const SECRET: &str = "helpscout-secret-key";
    /// A v2 conversation object, shortened.
    const BODY: &[u8] = br#"{"id":12345,"number":3,"threads":1,"type":"email","folderId":1234,"status":"active","state":"published","subject":"Hello","preview":"Hi there","mailboxId":85,"createdAt":"2023-11-14T22:13:20Z","userUpdatedAt":"2023-11-14T22:13:20Z","primaryCustomer":{"id":200,"email":"vbird@mywebsite.com"}}"#;
    /// Derived from Help Scout's docs (base64 HMAC-SHA1 of the body, computed with Python's
    /// hmac), not published.
    const SIG: &str = "UDMI+0X49BiZvtkbucOrEbnIw3o=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-helpscout-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-helpscout-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        // A type outside Help Scout's alphabet is refused.
        let odd = deliver(
            Source::new("help-scout", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-helpscout-event", "convo assigned/x"),
                    ("x-helpscout-signature", SIG),
                ],
                BODY,
                NOW,
            ),
        );
        assert_eq!(odd.reply.status, 400, "{}", odd.text());
        assert_envelope(
            Source::new("help-scout", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-helpscout-event", "convo.assigned"),
                    ("x-helpscout-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::NotDigest,
                ty: "help-scout.convo.assigned",
                subject: Some("12345"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
