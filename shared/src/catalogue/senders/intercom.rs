//! Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1(app client secret, raw body)>` (40 hex
//! characters). Id (`id`, `notif_…`), type (`topic`, e.g. `conversation.user.created`; the
//! creation `ping` too) and time (`created_at`) come from the signed body. The id is the same on
//! every retry though `delivery_attempts` changes the body. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "intercom",
    title: "Intercom",
    signature: Signature {
        at: &[Loc::Header("x-hub-signature")],
        format: Format::Prefix("sha1="),
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("topic"))],
    subject: &[Loc::Json("data.item.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Seconds)],
    evidence: Evidence::Docs("Intercom's intercom-webhooks samples"),
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

    const SECRET: &str = "intercom-client-secret";
    const BODY: &[u8] = br#"{"type":"notification_event","id":"notif_ccd8a4d2-7e3b-4a42-9a2c-3c4a3d1a9c10","topic":"conversation.user.created","created_at":1700000000,"data":{"item":{"type":"conversation","id":"147"}}}"#;
    /// Derived from https://intercom-developer-hub.readme.io/reference/signed-notifications
    /// (`sha1=` + hex HMAC-SHA1 of the body with the client secret, computed with Python's hmac),
    /// not published.
    const SIG: &str = "sha1=a027089d5b7617b4a730e9b20c999e1c91874b58";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-hub-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-hub-signature";
        let sha256 = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            BODY,
        ));
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[5..])],
                VerifyError::MalformedSignature { header },
            ),
            // An HMAC-SHA256 is not Intercom's, under either prefix.
            (
                &[(header, &format!("sha1={sha256}"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha256={sha256}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("intercom", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-hub-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "notif_ccd8a4d2-7e3b-4a42-9a2c-3c4a3d1a9c10");
        assert_eq!(e["type"], "intercom.conversation.user.created");
        assert_eq!(e["subject"], "147");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
