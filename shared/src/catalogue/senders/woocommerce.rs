//! WooCommerce: `X-WC-Webhook-Signature: <base64 HMAC-SHA256(secret, raw body)>` (the secret
//! after WordPress's `wp_specialchars_decode`, so give Inlet the secret as typed). The topic
//! (`X-WC-Webhook-Topic`, e.g. `order.created`) is an unsigned header, held to a strict character
//! set. The id is the body digest: `X-WC-Webhook-Delivery-ID` is `wp_hash(webhook id . time())`,
//! shared by every delivery of one hook within the same second, so deduplicating on it would drop
//! real events; and the body's `id` is the resource's, the same for every update of one order.
//! On creation WooCommerce posts an unsigned form `webhook_id=<n>` that must get exactly 200
//! (answered, never queued). No timestamp.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "woocommerce",
    title: "WooCommerce",
    signature: Signature {
        at: &[Loc::Header("x-wc-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Header("x-wc-webhook-topic"))],
    subject: &[Loc::Json("id")],
    handshakes: &[Handshake::WooCommercePing],
    evidence: Evidence::Docs("n8n's WooCommerce trigger"),
    note: "id is the body digest: X-WC-Webhook-Delivery-ID repeats within a second; the topic is an unsigned header (validated)",
    // Identical bytes can be distinct events: a deleted resource is only its id, and WooCommerce never retries.
    repeats: Repeats::Distinct,
    type_chars: "_.",
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

    const SECRET: &str = "woo-secret";
    const BODY: &[u8] = br#"{"id":727,"status":"processing","total":"29.35"}"#;
    /// Derived from woocommerce `includes/class-wc-webhook.php` `generate_signature` (base64
    /// HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "sCkIGy/Y2M2C7PgRIDcv6GXtk/aCB1IsPlES3LM6+eU=";

    fn source() -> Source {
        Source::new("woocommerce", &SCHEME)
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-wc-webhook-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-wc-webhook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "%%%")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG[..20])],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn the_creation_ping_gets_exactly_200_and_is_not_queued() {
        let form = ("content-type", "application/x-www-form-urlencoded");
        let d = deliver(
            source(),
            SECRET,
            Request::post(&[form], b"webhook_id=12", 1_700_000_000),
        );
        assert_eq!(d.reply.status, 200);
        assert!(d.reply.body.is_empty());
        assert_eq!(d.reply.header("content-type"), None);
        assert!(d.envelopes.is_empty());
        // Anything else unsigned is refused, not answered.
        for body in [
            &b"webhook_id=abc"[..],
            b"webhook_id=12&x=1",
            b"{\"webhook_id\":12}",
        ] {
            let d = deliver(
                source(),
                SECRET,
                Request::post(&[form], body, 1_700_000_000),
            );
            assert_eq!(d.reply.status, 401, "{}", String::from_utf8_lossy(body));
            assert!(d.envelopes.is_empty());
        }
        // A ping carrying a (forged) signature is verified like any delivery.
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[form, ("x-wc-webhook-signature", SIG)],
                b"webhook_id=12",
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    /// A deleted resource is only `{"id":…}` and WooCommerce never retries: identical bytes are
    /// distinct events, each queued (its delivery id repeats within a second, so it cannot tell
    /// them apart either).
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            source(),
            SECRET,
            Request::post(
                &[
                    ("x-wc-webhook-signature", SIG),
                    ("x-wc-webhook-topic", "order.updated"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
    }

    /// Values from the unsigned topic are held to WooCommerce's alphabet.
    #[test]
    fn the_unsigned_topic_is_held_to_its_alphabet() {
        for (topic, status) in [
            ("order.created", 202),
            ("action.woocommerce_add_to_cart", 202),
            ("order/created", 400),
            ("order created", 400),
            ("order.created;x", 400),
            ("<b>x</b>", 400),
        ] {
            let d = deliver(
                source(),
                SECRET,
                Request::post(
                    &[
                        ("x-wc-webhook-signature", SIG),
                        ("x-wc-webhook-topic", topic),
                    ],
                    BODY,
                    1_700_000_000,
                ),
            );
            assert_eq!(d.reply.status, status, "{topic}: {}", d.text());
            assert_eq!(d.envelopes.len(), usize::from(status == 202));
        }
    }

    #[test]
    fn deliveries_are_not_keyed_by_the_colliding_delivery_id() {
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-wc-webhook-signature", SIG),
                    ("x-wc-webhook-topic", "order.updated"),
                    ("x-wc-webhook-resource", "order"),
                    ("x-wc-webhook-event", "updated"),
                    ("x-wc-webhook-id", "12"),
                    (
                        "x-wc-webhook-delivery-id",
                        "e2c4a8d17f5b3d6b8a9e0c1f2a3b4c5d",
                    ),
                    ("x-wc-webhook-source", "https://shop.example.com/"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        let id = e["id"].as_str().expect("id");
        assert_eq!(id.len(), 36, "an id of its own, not the delivery id: {id}");
        assert_ne!(id, "e2c4a8d17f5b3d6b8a9e0c1f2a3b4c5d");
        assert_eq!(e["type"], "woocommerce.order.updated");
        assert_eq!(e["subject"], "727");
    }
}
