//! Checkout.com (workflow webhooks): `Cko-Signature: <hex HMAC-SHA256(signature key, raw body)>`,
//! the key being the one set on the workflow's webhook action. Id (`id`, `evt_…`), type (`type`,
//! e.g. `payment_approved`) and time (`created_on`) come from the signed body. The optional
//! `Authorization` header a workflow can also send is not checked. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "checkout",
    title: "Checkout.com",
    signature: Signature {
        at: &[Loc::Header("cko-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_on"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Checkout.com's PrestaShop plugin"),
    note: "only Cko-Signature is verified; a workflow's optional Authorization header is ignored",
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

    const SECRET: &str = "checkout-signature-key";
    const BODY: &[u8] = br#"{"id":"evt_az5sblvku4ge3dwpztvyizgcau","type":"payment_approved","created_on":"2019-08-24T14:15:22Z","data":{"id":"pay_mbabizu24mvu3mela5njyhpit4"}}"#;
    /// Derived from https://checkout.com/docs/workflows/set-up-your-webhook-receiver
    /// (hex HMAC-SHA256 of the body with the signature key, computed with Python's hmac), not
    /// published.
    const SIG: &str = "37f7b1b15940e6e8ca961bb1a0977df79b3ac20dfbe1ad822a3b4274a420dc9a";

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("cko-signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "cko-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "Bearer abc")],
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
    fn normalization() {
        let d = deliver(
            Source::new("checkout", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("cko-signature", SIG),
                    ("authorization", "whatever-the-workflow-sends"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "evt_az5sblvku4ge3dwpztvyizgcau");
        assert_eq!(e["type"], "checkout.payment_approved");
        assert_eq!(e["subject"], "pay_mbabizu24mvu3mela5njyhpit4");
        assert_eq!(e["time"], "2019-08-24T14:15:22.000Z");
    }
}
