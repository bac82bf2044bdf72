//! Paystack: `x-paystack-signature: <hex HMAC-SHA512(secret key, raw body)>`, the integration's
//! secret key (`sk_live_…` / `sk_test_…`) used as its UTF-8 bytes. Paystack's docs
//! (https://paystack.com/docs/payments/webhooks/#verify-event-origin: "a HMAC SHA512 signature
//! of the event payload signed using your secret key") name the header, the hash and the key;
//! the hex encoding and the raw body are those of Paystack's own PHP skeleton
//! (gist ibrahimlawal/2f987cccfa87f7ec4cb3dcb40e61dedd:
//! `hash_hmac('sha512', $input, PAYSTACK_SECRET_KEY)` compared with the header). The body is one
//! event: `event` the type (`paystack.charge.success`, `paystack.transfer.success`),
//! `data.reference` (else `data.id`) the subject, `data.paid_at` (else `data.createdAt`,
//! `data.created_at`) the time. The body has no event id: the envelope id is the body digest
//! (Paystack retries a failed delivery, per the same page, with the same payload, inferred;
//! distinct events differ in their data). No timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "paystack",
    title: "Paystack",
    signature: Signature {
        at: &[Loc::Header("x-paystack-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha512),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("data.reference"), Loc::Json("data.id")],
    time: &[
        TimeLoc::At(Loc::Json("data.paid_at"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("data.createdAt"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("data.created_at"), Unit::Rfc3339),
    ],
    evidence: Evidence::Docs("Paystack's PHP webhook skeleton (gist by ibrahimlawal)"),
    note: "the secret is the integration's secret key; no event id (duplicates by body digest) and no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "sk_test_0123456789abcdef0123456789abcdef";
    /// The `charge.success` sample of https://paystack.com/docs/payments/webhooks/, shortened.
    const BODY: &[u8] = br#"{"event":"charge.success","data":{"id":302961,"domain":"live","status":"success","reference":"qTPrJoy9Bx","amount":10000,"gateway_response":"Approved by Financial Institution","paid_at":"2016-09-30T21:10:19.000Z","created_at":"2016-09-30T21:09:56.000Z","channel":"card","currency":"NGN","customer":{"id":68324,"email":"bojack@horsinaround.com","customer_code":"CUS_qo38as2hpsgk2r0"}}}"#;
    /// Derived from Paystack's docs (hex HMAC-SHA512 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "e7166b75999a9eeff5e125e58aa069180d165c52c0162994ed5eb77073f01b2768965117bc4cacd949d1f4ca35788ca95cc0ea88c581cb829f5b23f8ccd062ff";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-paystack-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-paystack-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG[..64])],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("t=1700000000,v1={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope_forged(
            Source::new("paystack", &SCHEME),
            SECRET,
            "sk_test_another",
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-paystack-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "paystack.charge.success",
                subject: Some("qTPrJoy9Bx"),
                time: "2016-09-30T21:10:19.000Z",
            },
        );
    }
}
