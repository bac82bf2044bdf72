//! Mercado Pago (Webhooks with a secret signature): `x-signature: ts=<timestamp>,v1=<hex>`, the
//! hex HMAC-SHA256, under the application's webhook secret (UTF-8), of the manifest
//! `id:{data.id};request-id:{x-request-id};ts:{ts};`, where `data.id` is the **query-string**
//! parameter of the notification URL (lower-cased when it is alphanumeric) and `x-request-id` the
//! request header; a part whose value is absent is left out of the manifest. Sources: Mercado
//! Pago's notifications docs (https://www.mercadopago.com.mx/developers/en/docs/order/online-payments/notifications,
//! "Validate notification origin": the template `id:[data.id_url];request-id:[x-request-id_header];ts:[ts_header];`,
//! "If any of the values presented in the template is not present in the notification, you
//! must remove them", "if data.id_url is alphanumeric, it must be sent in lowercase"), cross-
//! checked with the description of DevModee/mercadopago-mcp's `verify_webhook_signature` tool
//! ("data.id from the notification URL query string (not the JSON body)"; its source was not
//! read). The data model cannot build that manifest (a query parameter, conditional parts),
//! so [`Manifest`] computes it; the `v1` candidates are read by the engine.
//!
//! Traps:
//! - **The body is not signed.** Only `data.id`, the request id and `ts` are: the type
//!   (`action`, `payment.updated`) and time (`date_created`) are read from an unsigned body, and
//!   a captured delivery's body could be replaced. Consumers should fetch the resource named by
//!   the subject (the signed `data.id`) before acting on it.
//! - **No replay window.** Mercado Pago's docs show `ts` in seconds (`1704908010`), while
//!   deliveries reportedly carry milliseconds (`1742505638683`, as the MCP tool's examples);
//!   since the unit cannot be settled, no window is enforced (`ts` is still signed).
//!
//! The id is the signed `x-request-id` (else the body digest); the subject the signed `data.id`.

use crate::core::scheme::*;
use crate::core::verify::engine::{hmac_sha256, query_param, Signing};
use crate::core::verify::{Unverified, VerifyError};

pub const SCHEME: Scheme = Scheme {
    name: "mercado-pago",
    title: "Mercado Pago",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v1",
        },
        all: false,
    },
    // What `Manifest` signs; the body is not.
    signed: &[],
    id: &[Loc::Header("x-request-id"), Loc::Digest],
    ty: &[TypePart::Optional(Loc::Json("action"))],
    type_chars: "_-.",
    subject: &[Loc::Query("data.id"), Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("date_created"), Unit::Rfc3339)],
    custom: Some(&Manifest),
    evidence: Evidence::Docs("Mercado Pago's notification docs (manifest template); DevModee/mercadopago-mcp verify_webhook_signature's description"),
    note: "signs only the query's data.id, x-request-id and ts (not the body: fetch the resource before acting); no replay window (ts's unit is not settled); id the signed x-request-id",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

/// Mercado Pago's manifest: `id:…;request-id:…;ts:…;`, each part only when present.
#[derive(Debug)]
struct Manifest;

/// `data.id` as the manifest takes it: lower-cased when it is alphanumeric.
fn data_id(raw: String) -> String {
    if raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        raw.to_ascii_lowercase()
    } else {
        raw
    }
}

/// The manifest for these values.
fn manifest(id: Option<&str>, request_id: Option<&str>, ts: Option<&str>) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in [("id", id), ("request-id", request_id), ("ts", ts)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("{name}:{value};"));
        }
    }
    out.into_bytes()
}

impl Custom for Manifest {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        let header = "x-signature";
        let one = |name: &'static str| crate::core::verify::single_header(req.headers, name);
        let content = (|| {
            let signature = one(header)?.ok_or(VerifyError::MissingSignature { header })?;
            let ts = signature
                .split(',')
                .find_map(|item| item.trim().strip_prefix("ts="))
                .ok_or(VerifyError::MalformedSignature { header })?;
            let id = query_param(req.query, "data.id").map(data_id);
            Ok(manifest(id.as_deref(), one("x-request-id")?, Some(ts)))
        })();
        Some(content)
    }

    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        let query = s.url.and_then(|u| u.split_once('?')).map_or("", |(_, q)| q);
        let id = query_param(query, "data.id").map(data_id);
        let request_id = if s.id.is_empty() {
            format!("inlet-{}", s.at)
        } else {
            s.id.to_owned()
        };
        let ts = s.at.to_string();
        let mac = hmac_sha256(key, &manifest(id.as_deref(), Some(&request_id), Some(&ts)));
        Some(Ok(vec![
            (
                "x-signature".into(),
                format!("ts={ts},v1={}", hex::encode(mac)),
            ),
            ("x-request-id".into(), request_id),
        ]))
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Query("data.id") | Loc::Header("x-request-id"))
    }
}

#[cfg(test)]
/// No `round_trip` or `vector`: the body is not signed, so their body-tampering checks do not
/// apply; what is signed (data.id, the request id, ts) is tampered with here instead.
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;
    use http::Method;

    const SECRET: &str = "mp-webhook-secret";
    const REQUEST_ID: &str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e";
    /// Derived, not published: hex HMAC-SHA256 of
    /// `id:123456;request-id:bb56a2f1-…;ts:1704908010;`, Python's hmac.
    const SIG: &str =
        "ts=1704908010,v1=82b907dfa85f7f1f8e561068fa2dc1667b3eea1c02313b91ca86bf6f19946e5a";
    /// Shaped as the `payment.updated` notification of Mercado Pago's docs.
    const BODY: &[u8] = br#"{"action":"payment.updated","api_version":"v1","data":{"id":"123456"},"date_created":"2021-11-01T02:02:02Z","id":"123456","live_mode":false,"type":"payment","user_id":2025701502}"#;

    fn run(secret: &str, pairs: &[(&str, &str)], query: &str) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[secret.as_bytes()],
            pairs,
            BODY,
            1_704_908_010,
            &Method::POST,
            query,
            Some(URL),
        )
    }

    #[test]
    fn the_manifest_verifies_and_each_part_is_signed() {
        let h = "x-signature";
        let ok = [(h, SIG), ("x-request-id", REQUEST_ID)];
        run(SECRET, &ok, "data.id=123456&type=payment").expect("verifies");
        let mismatch = Err(VerifyError::SignatureMismatch { header: h });
        assert_eq!(run(SECRET, &ok, "data.id=123457&type=payment"), mismatch);
        assert_eq!(run(SECRET, &ok, "type=payment"), mismatch);
        let other_request = [
            (h, SIG),
            ("x-request-id", "bb56a2f1-6aae-46ac-982e-9dcd3581d08f"),
        ];
        assert_eq!(run(SECRET, &other_request, "data.id=123456"), mismatch);
        let other_ts = SIG.replace("1704908010", "1704908011");
        assert_eq!(
            run(
                SECRET,
                &[(h, &other_ts), ("x-request-id", REQUEST_ID)],
                "data.id=123456"
            ),
            mismatch
        );
        assert_eq!(run("another-secret", &ok, "data.id=123456"), mismatch);
        // The body is not signed: another body verifies (the trap the module names).
        check_request(
            &SCHEME,
            &[SECRET.as_bytes()],
            &ok,
            br#"{"action":"payment.created"}"#,
            0,
            &Method::POST,
            "data.id=123456",
            Some(URL),
        )
        .expect("the body is not covered");
    }

    #[test]
    fn an_alphanumeric_id_is_lower_cased_and_absent_parts_are_left_out() {
        // Derived: `id:abc123def;request-id:…;ts:1704908010;`.
        let upper =
            "ts=1704908010,v1=e4f7bcdf895fde5459d2c912301b03fd5787d6dc953e0b0b3c26f47a4ba244cf";
        run(
            SECRET,
            &[("x-signature", upper), ("x-request-id", REQUEST_ID)],
            "data.id=ABC123DEF",
        )
        .expect("lower-cased");
        // Derived: `request-id:…;ts:1704908010;` (no data.id in the URL).
        let no_id =
            "ts=1704908010,v1=47dbdd8d1f0d4d96bd428d6282013af4beddfe37ffb8e46b879a87ad8c8f36f7";
        run(
            SECRET,
            &[("x-signature", no_id), ("x-request-id", REQUEST_ID)],
            "",
        )
        .expect("no id");
    }

    #[test]
    fn malformed_and_missing_signatures_are_refused() {
        let h = "x-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[("x-request-id", REQUEST_ID)],
                VerifyError::MissingSignature { header: h },
            ),
            (
                &[(
                    h,
                    "v1=82b907dfa85f7f1f8e561068fa2dc1667b3eea1c02313b91ca86bf6f19946e5a",
                )],
                VerifyError::MalformedSignature { header: h },
            ),
            (
                &[(h, "ts=1704908010")],
                VerifyError::SignatureMismatch { header: h },
            ),
            (
                &[
                    (h, SIG),
                    ("x-request-id", REQUEST_ID),
                    ("x-request-id", REQUEST_ID),
                ],
                VerifyError::DuplicateHeader {
                    header: "x-request-id",
                },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 1_704_908_010, cases);
    }

    #[test]
    fn what_the_engine_signs_verifies() {
        let url = "https://hooks.example.com/mp?data.id=999&type=payment";
        let signed = sign_headers(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            1_704_908_010,
            "req-1",
            Some(url),
        );
        let got = check_request(
            &SCHEME,
            &[SECRET.as_bytes()],
            &pairs(&signed),
            BODY,
            0,
            &Method::POST,
            "data.id=999&type=payment",
            Some(url),
        );
        assert_eq!(got.as_deref(), Ok("secret-0"));
    }

    #[test]
    fn normalization() {
        let mut req = Request::post(
            &[
                ("content-type", "application/json"),
                ("x-signature", SIG),
                ("x-request-id", REQUEST_ID),
            ],
            BODY,
            1_704_908_010,
        );
        req.query = "data.id=123456&type=payment";
        assert_envelope(
            Source::new("mercado-pago", &SCHEME),
            SECRET,
            req,
            Want {
                id: Id::Is(REQUEST_ID),
                ty: "mercado-pago.payment.updated",
                subject: Some("123456"),
                time: "2021-11-01T02:02:02.000Z",
            },
        );
    }
}
