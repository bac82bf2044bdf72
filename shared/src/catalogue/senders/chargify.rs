//! Maxio Advanced Billing (formerly Chargify): `X-Chargify-Webhook-Signature-Hmac-Sha-256: <hex
//! HMAC-SHA256(Site Shared Key, raw body)>`, the site's shared key used as its UTF-8 bytes.
//!
//! - Body and delivery: https://docs.maxio.com/hc/en-us/articles/24266136649869-Webhooks-Reference
//!   (form-encoded `application/x-www-form-urlencoded`; every webhook has `id`, "a unique,
//!   numeric identifier for the webhook. You can use this value to record which webhooks you've
//!   already seen", `event`, and `payload[…][…]` keys in square-bracket notation; up to five
//!   attempts on a non-200 answer, the same webhook each time).
//! - Header, hash, encoding and signed bytes: HMAC-SHA256 of the raw body with the Site Shared
//!   Key, hex, in `X-Chargify-Webhook-Signature-Hmac-Sha-256`. Maxio's signature page could not
//!   be read for this file; the scheme is the one of the dev verifier in gist moklett/7456242
//!   ("Chargify Webhook Reflector", pointing at docs.chargify.com/webhooks:
//!   `OpenSSL::HMAC.hexdigest('sha256', shared_key, body)` against
//!   `HTTP_X_CHARGIFY_WEBHOOK_SIGNATURE_HMAC_SHA_256`), and every independent verifier found
//!   agrees (gists mediocretes/a0c4ac069dec105b167e, afreeland/003026ee17ab0f6de8b3acc4b33f797b).
//!   The legacy MD5 `X-Chargify-Webhook-Signature` is not accepted.
//! - No timestamp is signed, so no replay window applies.
//! - The id is the signed `id` (retries repeat it), the type `event`
//!   (`chargify.signup_success`, `chargify.payment_success`, …), the subject the subscription's id
//!   (`payload[subscription][id]`) when there is one. Payload times are Eastern Time without an
//!   offset, so the time is when Inlet received it.
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "chargify",
    title: "Maxio Advanced Billing (Chargify)",
    signature: Signature {
        at: &[Loc::Header("x-chargify-webhook-signature-hmac-sha-256")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("payload[subscription][id]"),
        Loc::Json("payload[customer][id]"),
    ],
    body: Body {
        json: false,
        form: Form::Fields,
        other: false,
    },
    evidence: Evidence::Docs("the Chargify Webhook Reflector (gist moklett/7456242)"),
    note: "form-encoded bodies signed with the Site Shared Key; no timestamp is signed (duplicates by the signed webhook id)",
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

    const SECRET: &str = "chargify-site-shared-key";
    /// A `signup_success` webhook as the Webhooks Reference describes one, shortened.
    const BODY: &[u8] = b"id=1234567890&event=signup_success&payload%5Bsite%5D%5Bid%5D=12345&payload%5Bsite%5D%5Bsubdomain%5D=acme&payload%5Bsubscription%5D%5Bid%5D=18220670&payload%5Bsubscription%5D%5Bstate%5D=active";
    /// Derived, not published: hex HMAC-SHA256 of the body with the shared key, computed with
    /// Python's hmac.
    const SIG: &str = "776d49f78ec3dc82d53a5e5e0a8f77524852feaf52f9662d09657d0695027377";
    const HEADER: &str = "x-chargify-webhook-signature-hmac-sha-256";
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // Only the legacy MD5 header: not accepted.
            (
                &[(
                    "x-chargify-webhook-signature",
                    "0123456789abcdef0123456789abcdef",
                )],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace('7', "8"))],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let source = || Source::new("chargify", &SCHEME);
        let headers = [FORM, (HEADER, SIG)];
        assert_envelope(
            source(),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("1234567890"),
                ty: "chargify.signup_success",
                subject: Some("18220670"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        // A retry of the same webhook (the same signed id) is queued once.
        let again = deliver_again(
            source(),
            SECRET,
            &[
                Request::post(&headers, BODY, NOW),
                Request::post(&headers, BODY, NOW + 10),
            ],
        );
        assert_eq!(counts(&again), [1, 0]);
    }
}
