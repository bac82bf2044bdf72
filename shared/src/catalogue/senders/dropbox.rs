//! Dropbox: `X-Dropbox-Signature: <hex HMAC-SHA256(app secret, raw body)>`. A notification only
//! says which accounts changed (`{"list_folder":{"accounts":[…]},"delta":{"users":[…]}}`); the
//! changes themselves must be fetched with the API. There is no id, so the id is the body digest;
//! the type is `dropbox.notification` and the subject the first account. Setup is an unsigned
//! `GET ?challenge=X`, answered with `X` as `text/plain` with `X-Content-Type-Options: nosniff`.
//! No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "dropbox",
    title: "Dropbox",
    signature: Signature {
        at: &[Loc::Header("x-dropbox-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[TypePart::Lit("notification")],
    subject: &[Loc::Json("list_folder.accounts.0")],
    handshakes: &[Handshake::DropboxChallenge],
    evidence: Evidence::Docs("Dropbox's mdwebhook sample"),
    note: "notifications only (fetch the changes with the API); no id is sent: the id is the body digest",
    // Identical bytes can be distinct events: Dropbox's notification names only the accounts: the same bytes for every change.
    repeats: Repeats::Distinct,
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

    const SECRET: &str = "dropbox-app-secret";
    const BODY: &[u8] = br#"{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]},"delta":{"users":[12345678]}}"#;
    /// Derived from https://www.dropbox.com/developers/reference/webhooks (hex HMAC-SHA256 of the
    /// body with the app secret, computed with Python's hmac), not published.
    const SIG: &str = "450ef9f57aef4016f16da031b9d4597c8f4672296e2d3b8d98fd21af6db3fd6a";

    fn get(query: &str) -> Delivered {
        deliver(
            Source::new("dropbox", &SCHEME),
            SECRET,
            Request::get(query, &[], 1_700_000_000),
        )
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-dropbox-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-dropbox-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn the_challenge_is_echoed_as_plain_text() {
        let d = get("challenge=qSMNbqjjfhpuvFgPWxE0x21AeJsAhtDhVMuMbQxhDnk");
        assert_eq!(d.reply.status, 200);
        assert_eq!(d.text(), "qSMNbqjjfhpuvFgPWxE0x21AeJsAhtDhVMuMbQxhDnk");
        assert_eq!(d.reply.header("content-type"), Some("text/plain"));
        assert_eq!(d.reply.header("x-content-type-options"), Some("nosniff"));
        assert!(d.envelopes.is_empty());
        // A GET without a challenge is not the handshake: refused as unsigned.
        let other = get("x=1");
        assert_eq!(other.reply.status, 401);
        assert!(other.envelopes.is_empty());
    }

    /// Dropbox sends the same bytes for every change to an account: each is queued (the hostile
    /// round saw the second answered `202 duplicate` for the whole idempotency window).
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("dropbox", &SCHEME),
            SECRET,
            Request::post(&[("x-dropbox-signature", SIG)], BODY, 1_700_000_000),
        );
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("dropbox", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-dropbox-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"].as_str().expect("id").len(), 36, "an id of its own");
        assert_eq!(e["type"], "dropbox.notification");
        assert_eq!(e["subject"], "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc");
        let forged = deliver(
            Source::new("dropbox", &SCHEME),
            "another-secret",
            Request::post(&[("x-dropbox-signature", SIG)], BODY, 1_700_000_000),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
