//! Adyen standard (payments) webhooks: the signature is inside the JSON body, at
//! `notificationItems[0].NotificationRequestItem.additionalData.hmacSignature`, the base64
//! HMAC-SHA256 under the **hex-decoded** HMAC key of the item's
//! `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`
//! (`value` and `currency` from `amount`; a field that is absent or null is an empty string), as
//! adyen-python-api-library's `generate_notification_sig` computes it. Traps:
//!
//! - **Only those eight fields are signed**, not `eventDate`, `reason`, `live` or the rest of
//!   `additionalData`: a captured delivery verifies with those changed. The id is therefore made
//!   of signed fields only, `{pspReference}:{eventCode}:{success}`, which Adyen's retries repeat
//!   (so the idempotency store refuses a second copy) while an `AUTHORISATION` that first failed
//!   and then succeeded (`success` false, then true) stays two events.
//! - **One item per body.** `notificationItems` is an array, but Adyen's JSON webhooks carry one
//!   `NotificationRequestItem` (docs.adyen.com, "Webhook structure and types"), and the SDK checks
//!   only the first. A body with more than one is refused (400) rather than enqueued with items
//!   nobody verified.
//! - **Duplicate keys.** The signed fields are read by a strict parse that refuses a repeated key
//!   (401) along the signed path, so no parser downstream can read a field other than the one
//!   that was verified.
//!
//! Type `adyen.<eventCode>` (lower-cased), subject `merchantReference`, time the unsigned
//! `eventDate`. Adyen accepts any 2xx (the `[accepted]` body is no longer required), so 202 is
//! answered. The CLI signs by writing `hmacSignature` into the body (`inlet send`, `inlet event`).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::core::normalize::{
    body_kind, event_type, from_unix, invalid_json, nested_deeper_than, BodyKind, Disposition,
    Draft, Envelope, KeyBasis, NormalizeError, Payload, JSON, MAX_JSON_DEPTH,
};
use crate::core::scheme::*;
use crate::core::verify::engine::{encode, Signing};
use crate::core::verify::{Unverified, Verified, VerifyError};

const SIGNATURE: &str = "notificationItems.0.NotificationRequestItem.additionalData.hmacSignature";
const PSP_REFERENCE: &str = "notificationItems.0.NotificationRequestItem.pspReference";
const ORIGINAL_REFERENCE: &str = "notificationItems.0.NotificationRequestItem.originalReference";
const MERCHANT_ACCOUNT: &str = "notificationItems.0.NotificationRequestItem.merchantAccountCode";
const MERCHANT_REFERENCE: &str = "notificationItems.0.NotificationRequestItem.merchantReference";
const VALUE: &str = "notificationItems.0.NotificationRequestItem.amount.value";
const CURRENCY: &str = "notificationItems.0.NotificationRequestItem.amount.currency";
const EVENT_CODE: &str = "notificationItems.0.NotificationRequestItem.eventCode";
const SUCCESS: &str = "notificationItems.0.NotificationRequestItem.success";
const EVENT_DATE: &str = "notificationItems.0.NotificationRequestItem.eventDate";

pub const SCHEME: Scheme = Scheme {
    name: "adyen",
    title: "Adyen",
    signature: Signature {
        at: &[Loc::Json(SIGNATURE)],
        format: Format::Plain,
        all: false,
    },
    // What `SignedItem` computes (absent fields as empty strings); listed so the scheme reads as
    // what it signs, and so `signs` knows which fields are covered.
    signed: &[
        Part::Json(PSP_REFERENCE),
        Part::Lit(":"),
        Part::Json(ORIGINAL_REFERENCE),
        Part::Lit(":"),
        Part::Json(MERCHANT_ACCOUNT),
        Part::Lit(":"),
        Part::Json(MERCHANT_REFERENCE),
        Part::Lit(":"),
        Part::Json(VALUE),
        Part::Lit(":"),
        Part::Json(CURRENCY),
        Part::Lit(":"),
        Part::Json(EVENT_CODE),
        Part::Lit(":"),
        Part::Json(SUCCESS),
    ],
    encoding: Encoding::Base64,
    key: KeyDecoding::Hex,
    // The envelope id is `{pspReference}:{eventCode}:{success}` (built by `SignedItem`).
    id: &[Loc::Json(PSP_REFERENCE)],
    ty: &[TypePart::Required(Loc::Json(EVENT_CODE))],
    subject: &[Loc::Json(MERCHANT_REFERENCE)],
    time: &[TimeLoc::At(Loc::Json(EVENT_DATE), Unit::Rfc3339)],
    custom: Some(&SignedItem),
    evidence: Evidence::Sdk("adyen 16.0.0 (PyPI)"),
    note: "the secret is the HMAC key in hex; only pspReference, originalReference, merchantAccountCode, merchantReference, amount, eventCode and success are signed (not eventDate, reason or the rest of additionalData), so the id is pspReference:eventCode:success; bodies with more than one notificationItem are refused (Adyen sends one)",
    ..Scheme::BASE
};

/// Adyen's signed content (missing fields empty, read strictly), its envelope (the id of three
/// signed fields, one item per body), and its signer (which writes into the body).
#[derive(Debug)]
struct SignedItem;

impl Custom for SignedItem {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some(parse(req.body).and_then(|n| n.first().map(|item| item.signing_string().into_bytes())))
    }

    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        Some(normalize(source, v, received))
    }

    /// The signature is in the body: no header to add.
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(Ok(Vec::new()))
    }

    fn sign_body(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        Some(sign_body(key, s))
    }
}

/// The body as far as the signature goes. Every field declared here is refused when repeated
/// (serde's derive rejects duplicate fields), so the value verified is the only one present.
#[derive(Debug, Deserialize)]
struct Notification<'a> {
    #[serde(rename = "notificationItems", borrow)]
    items: Vec<Wrapper<'a>>,
}

#[derive(Debug, Deserialize)]
struct Wrapper<'a> {
    #[serde(rename = "NotificationRequestItem", borrow)]
    item: Item<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    #[serde(borrow, default)]
    psp_reference: Option<&'a RawValue>,
    #[serde(borrow, default)]
    original_reference: Option<&'a RawValue>,
    #[serde(borrow, default)]
    merchant_account_code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    merchant_reference: Option<&'a RawValue>,
    #[serde(borrow, default)]
    amount: Option<Amount<'a>>,
    #[serde(borrow, default)]
    event_code: Option<&'a RawValue>,
    #[serde(borrow, default)]
    success: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event_date: Option<&'a RawValue>,
    #[serde(borrow, default)]
    #[allow(dead_code)]
    additional_data: Option<AdditionalData<'a>>,
}

#[derive(Debug, Deserialize)]
struct Amount<'a> {
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
    #[serde(borrow, default)]
    currency: Option<&'a RawValue>,
}

/// Declared so that a repeated `hmacSignature` is refused like any repeated signed field; the
/// engine reads the value itself, by path.
#[derive(Debug, Deserialize)]
struct AdditionalData<'a> {
    #[serde(rename = "hmacSignature", borrow, default)]
    #[allow(dead_code)]
    hmac_signature: Option<&'a RawValue>,
}

/// A signed field as Adyen writes it into the signing string: a string's contents, a number or
/// boolean as written, absent or null as empty; `None` for an object or array (not signable).
fn scalar(value: Option<&RawValue>) -> Option<Cow<'_, str>> {
    let Some(raw) = value else {
        return Some(Cow::Borrowed(""));
    };
    let text = raw.get().trim();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<'_, str>>(text).ok(),
        b'-' | b'0'..=b'9' | b't' | b'f' => Some(Cow::Borrowed(text)),
        b'n' => Some(Cow::Borrowed("")),
        _ => None,
    }
}

impl Item<'_> {
    /// The eight signed fields, or `None` when one is an object or array.
    fn fields(&self) -> Option<[Cow<'_, str>; 8]> {
        let (value, currency) = match &self.amount {
            Some(a) => (a.value, a.currency),
            None => (None, None),
        };
        Some([
            scalar(self.psp_reference)?,
            scalar(self.original_reference)?,
            scalar(self.merchant_account_code)?,
            scalar(self.merchant_reference)?,
            scalar(value)?,
            scalar(currency)?,
            scalar(self.event_code)?,
            scalar(self.success)?,
        ])
    }

    /// `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`.
    fn signing_string(&self) -> String {
        self.fields().map(|f| f.join(":")).unwrap_or_default()
    }
}

/// A field's text for the envelope; `None` when absent or empty.
fn text(value: Option<&RawValue>) -> Option<String> {
    scalar(value).filter(|t| !t.is_empty()).map(Cow::into_owned)
}

impl Notification<'_> {
    /// The first item, whose fields are all signable.
    fn first(&self) -> Result<&Item<'_>, VerifyError> {
        let item = &self
            .items
            .first()
            .ok_or(VerifyError::MissingSignature { header: SIGNATURE })?
            .item;
        item.fields()
            .map(|_| item)
            .ok_or(VerifyError::MalformedSignature { header: SIGNATURE })
    }
}

/// The body read strictly: a repeated signed field, or a body that is not Adyen's shape, is
/// not verified.
fn parse(body: &[u8]) -> Result<Notification<'_>, VerifyError> {
    serde_json::from_slice(body).map_err(|_| VerifyError::MalformedSignature { header: SIGNATURE })
}

fn hmac(key: &[u8], content: &str) -> String {
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(content.as_bytes());
    encode(Encoding::Base64, &mac.finalize().into_bytes())
}

/// The body with `notificationItems[0].NotificationRequestItem.additionalData.hmacSignature`
/// set to the signature of its one item, as Adyen sends it (`inlet sign`, `send` and `event`).
fn sign_body(key: &[u8], s: &Signing<'_>) -> Result<Vec<u8>, String> {
    let n: Notification<'_> = serde_json::from_slice(s.body).map_err(|_| {
        "adyen: the body must be a JSON notification with notificationItems[0].NotificationRequestItem (no repeated keys)".to_owned()
    })?;
    let item = n
        .first()
        .map_err(|_| "adyen: notificationItems[0].NotificationRequestItem is missing or has an object where a signed field belongs".to_owned())?;
    if n.items.len() != 1 {
        return Err("adyen: a body carries exactly one notification item".into());
    }
    let signature = hmac(key, &item.signing_string());
    let mut doc: serde_json::Value =
        serde_json::from_slice(s.body).map_err(|e| format!("adyen: {e}"))?;
    let item = &mut doc["notificationItems"][0]["NotificationRequestItem"];
    if !item["additionalData"].is_object() {
        item["additionalData"] = serde_json::json!({});
    }
    item["additionalData"]["hmacSignature"] = signature.into();
    serde_json::to_vec(&doc).map_err(|e| format!("adyen: {e}"))
}

/// The event time Adyen writes (`2021-07-17T13:42:40+01:00`, milliseconds kept).
fn event_time(raw: &str) -> Option<SystemTime> {
    let t =
        time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()?;
    from_unix(t.unix_timestamp())?.checked_add(Duration::from_millis(t.millisecond().into()))
}

fn normalize<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    if body_kind(v.headers()) != BodyKind::Json {
        return Err(NormalizeError::UnsupportedMediaType(JSON));
    }
    let body = v.body();
    if nested_deeper_than(body, MAX_JSON_DEPTH) {
        return Err(NormalizeError::JsonTooDeep);
    }
    let raw: &RawValue = serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
    let n: Notification<'_> = serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
    // Only the first item's signature was checked: never enqueue one that was not.
    if n.items.len() != 1 {
        return Err(NormalizeError::InvalidField {
            field: "notificationItems",
            reason: "Adyen sends one NotificationRequestItem per webhook, and only one signature can be verified per body",
        });
    }
    let item = &n.items[0].item;
    let psp = text(item.psp_reference).ok_or(NormalizeError::MissingField(PSP_REFERENCE))?;
    let code = text(item.event_code).ok_or(NormalizeError::MissingField(EVENT_CODE))?;
    let success = text(item.success).unwrap_or_default();
    let draft = Draft {
        id: format!("{psp}:{code}:{success}"),
        ty: event_type(source, &[Some(&code)]),
        time: text(item.event_date).as_deref().and_then(event_time),
        subject: text(item.merchant_reference),
        content_type: JSON.into(),
        payload: Payload::Json(Cow::Borrowed(raw)),
        key: KeyBasis::Id,
        event: None,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &PLATFORM];

/// Adyen's other webhooks, those of the Management API and the Balance Platform (Adyen for
/// Platforms, Issuing, Payouts): `HmacSignature: <base64 HMAC-SHA256(hex-decoded HMAC key, raw
/// body)>`. Adyen's docs (https://docs.adyen.com/development-resources/webhooks/secure-webhooks/verify-hmac-signatures:
/// "For other types of webhooks ... the signature is included in the HmacSignature header";
/// https://docs.adyen.com/platforms/set-up-webhooks) and adyen-python-api-library's
/// `Adyen/util.py` (`is_valid_hmac_payload` → `generate_payload_sig`: `binascii.a2b_hex(key)`,
/// `hmac.new(key, payload, sha256)`, base64), "for webhooks that provide the hmacSignature in
/// the HTTP header (i.e. Banking, Management API)". No timestamp is signed, so no replay window
/// applies. The body is one event, `{"data":{…},"environment":…,"type":"balancePlatform.accountHolder.created",
/// "timestamp"|"createdAt":…}`: `type` is the envelope type (`adyen-platform.balanceplatform.accountholder.created`),
/// the time `timestamp` (Balance Platform) or `createdAt` (Management API). Adyen sends no event
/// id in these bodies (none is documented), so the id is the body digest; the body holds the
/// event's time and resource, so identical bytes are a retry (inferred from the documented
/// payloads). The subject is the resource's id, where the payloads we know put it.
pub const PLATFORM: Scheme = Scheme {
    name: "adyen-platform",
    title: "Adyen (Balance Platform and Management API webhooks)",
    signature: Signature {
        at: &[Loc::Header("hmacsignature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    encoding: Encoding::Base64,
    key: KeyDecoding::Hex,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    type_chars: "_-",
    subject: &[
        Loc::Json("data.id"),
        Loc::Json("data.accountHolder.id"),
        Loc::Json("data.balanceAccount.id"),
        Loc::Json("data.paymentInstrument.id"),
        Loc::Json("data.merchantId"),
    ],
    time: &[
        TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339),
    ],
    custom: None,
    evidence: Evidence::Sdk("adyen 16.0.0 (PyPI)"),
    note: "the secret is the webhook's HMAC key in hex; HmacSignature header (Balance Platform, Management API); no event id is sent: the id is the body digest; no timestamp is signed",
    ..Scheme::BASE
};

#[cfg(test)]
mod platform_tests {
    use super::PLATFORM;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// The HMAC key of adyen-python-api-library's tests.
    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    /// The `balancePlatform.accountHolder.created` example of
    /// https://docs.adyen.com/platforms/set-up-webhooks, shortened.
    const BODY: &[u8] = br#"{"data":{"balancePlatform":"YOUR_BALANCE_PLATFORM","accountHolder":{"description":"S.Hopper - Staff 123","id":"AH00000000000000000000001","legalEntityId":"LE00000000000000000000001","status":"active"}},"environment":"test","timestamp":"2024-12-15T15:42:03+01:00","type":"balancePlatform.accountHolder.created"}"#;
    /// Derived, not published: base64 HMAC-SHA256 under the hex-decoded key, computed with
    /// Python's hmac as `generate_payload_sig` does.
    const SIG: &str = "uBaUid0EC5pJEzWO2Ktfco0gBvskpdZBNvMy1+hgl3c=";
    const NOW: u64 = 1_734_273_723;

    #[test]
    fn derived_vector() {
        vector(&PLATFORM, KEY.as_bytes(), BODY, &[("hmacsignature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&PLATFORM, KEY.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "hmacsignature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "AAAAid0EC5pJEzWO2Ktfco0gBvskpdZBNvMy1+hgl3c=")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&PLATFORM, &[KEY.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let post = |key: &str| {
            deliver(
                Source::new("adyen-platform", &PLATFORM),
                key,
                Request::post(
                    &[("content-type", "application/json"), ("hmacsignature", SIG)],
                    BODY,
                    NOW,
                ),
            )
        };
        let d = post(KEY);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(
            e["id"].as_str().map(|id| id.starts_with("sha256:")),
            Some(true)
        );
        assert_eq!(
            e["type"],
            "adyen-platform.balanceplatform.accountholder.created"
        );
        assert_eq!(e["subject"], "AH00000000000000000000001");
        assert_eq!(e["time"], "2024-12-15T14:42:03.000Z");
        let forged = post("74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174");
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::*;

    /// adyen-python-api-library `test/UtilTest.py` (`test_notification_request_item_hmac`).
    const KEY: &[u8] = b"44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
    const SIG: &str = "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=";
    /// The key of the same file's `test_webhooks_with_slashes` (fixtures `test/mocks/util/`).
    const FIXTURE_KEY: &[u8] = b"74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174";
    const AT: u64 = 1_700_000_000;
    const CT: (&str, &str) = ("content-type", "application/json; charset=utf-8");

    /// A notification of one item, in Adyen's wrapping.
    fn wrap(item: &str) -> String {
        format!(r#"{{"live":"false","notificationItems":[{{"NotificationRequestItem":{item}}}]}}"#)
    }

    /// The published item, with `success` and the signature given.
    fn item(success: &str, signature: &str) -> String {
        format!(
            r#"{{"additionalData":{{"hmacSignature":"{signature}"}},"amount":{{"currency":"EUR","value":1130}},"eventCode":"AUTHORISATION","eventDate":"2019-05-06T17:15:34.121+02:00","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","operations":["CANCEL","CAPTURE","REFUND"],"paymentMethod":"visa","pspReference":"7914073381342284","success":"{success}"}}"#
        )
    }

    fn verify(key: &[u8], body: &str) -> Result<String, VerifyError> {
        check(&SCHEME, &[key], &[CT], body.as_bytes(), AT)
    }

    const MISMATCH: Result<String, VerifyError> =
        Err(VerifyError::SignatureMismatch { header: SIGNATURE });

    #[test]
    fn published_vector_is_byte_exact() {
        // CATALOGUE §6 #11: the signing string and its signature, byte for byte.
        let body = wrap(&item("true", SIG));
        let n = parse(body.as_bytes()).expect("parses");
        let item = n.first().expect("one item");
        assert_eq!(
            item.signing_string(),
            "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
        );
        let key = crate::core::verify::engine::decode_secret(
            &SCHEME,
            std::str::from_utf8(KEY).expect("text"),
        )
        .expect("hex key");
        assert_eq!(hmac(&key, &item.signing_string()), SIG);
        verify(KEY, &body).expect("the published vector verifies");
        // The key is hex: its text as UTF-8 bytes is another key.
        assert_ne!(
            hmac(KEY, &item.signing_string()),
            SIG,
            "the key must be hex-decoded"
        );
    }

    #[test]
    fn every_signed_field_is_covered() {
        let body = wrap(&item("true", SIG));
        for (from, to) in [
            ("7914073381342284", "7914073381342285"),
            (
                "\"merchantAccountCode\":\"TestMerchant\"",
                "\"merchantAccountCode\":\"TestMerchanu\"",
            ),
            ("TestPayment-1407325143704", "TestPayment-1407325143705"),
            ("\"value\":1130", "\"value\":1131"),
            ("\"EUR\"", "\"USD\""),
            ("\"AUTHORISATION\"", "\"CANCELLATION\""),
            ("\"success\":\"true\"", "\"success\":\"false\""),
        ] {
            let changed = body.replacen(from, to, 1);
            assert_ne!(changed, body, "{from}");
            assert_eq!(verify(KEY, &changed), MISMATCH, "{from} -> {to}");
        }
        // An original reference that was absent (empty) is signed too.
        let added = body.replacen(
            "\"pspReference\"",
            "\"originalReference\":\"8313842560770001\",\"pspReference\"",
            1,
        );
        assert_eq!(verify(KEY, &added), MISMATCH);
        assert_eq!(
            verify(
                b"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                &body
            ),
            MISMATCH
        );
    }

    #[test]
    fn the_sdks_fixtures_verify() {
        // adyen-python-api-library test/mocks/util/*_notification.json (bare items, as Adyen's test
        // platform signed them): backslashes, colons and slashes in the merchant reference.
        let fixtures = [
            (
                r#"\\\\slashes are fun"#,
                "T7FD4VM4D3RZNN82",
                "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo=",
            ),
            (
                ":slashes are fun",
                "M8NB66SBZSGLNK82",
                "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=",
            ),
            (
                "//slashes are fun",
                "X3GWNS6KJ8NKGK82",
                "9Z0xdpG9Xi3zcmXv14t/BvMBut77O/Xq9D4CQXSDUi4=",
            ),
            (
                r#"\\:/\\/slashes are fun"#,
                "ZVWN7D3WSMK2WN82",
                "CZErGCNQaSsxbaQfZaJlakqo7KPP+mIa8a+wx3yNs9A=",
            ),
        ];
        for (reference, psp, sig) in fixtures {
            let body = wrap(&format!(
                r#"{{"additionalData":{{"authCode":"076181","hmacSignature":"{sig}","paymentMethod":"visa"}},"amount":{{"currency":"EUR","value":1000}},"eventCode":"AUTHORISATION","eventDate":"2023-01-10T13:42:29+01:00","merchantAccountCode":"AntoniStroinski","merchantReference":"{reference}","operations":["CANCEL","CAPTURE","REFUND"],"paymentMethod":"visa","pspReference":"{psp}","reason":"076181:1111:03/2030","success":"true"}}"#
            ));
            verify(FIXTURE_KEY, &body).unwrap_or_else(|e| panic!("{reference}: {e}"));
            assert_eq!(verify(KEY, &body), MISMATCH);
        }
    }

    #[test]
    fn sdk_signed_items_verify() {
        // Signed with adyen 16.0.0's `generate_notification_sig` under KEY: a modification with an
        // original reference, a refusal, and a non-ASCII reference with a zero amount.
        let cases = [
            r#"{"pspReference":"QFQTPCQ8HXSKGK82","originalReference":"7914073381342284","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","amount":{"currency":"EUR","value":500},"eventCode":"CAPTURE","success":"true","eventDate":"2021-07-17T13:42:40+01:00","additionalData":{"hmacSignature":"vdpeGa0jdb7ohkkgXPV6OaczoDz8PdRkYTv8n1fpfz0="}}"#,
            r#"{"pspReference":"7914073381342284","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-1407325143704","amount":{"currency":"EUR","value":1130},"eventCode":"AUTHORISATION","success":"false","reason":"Refused","additionalData":{"hmacSignature":"YrZbRrl8QM84UhV+yoHFXqoA2lrfLDJ6Grw0ypYASWE="}}"#,
            r#"{"pspReference":"8816178952380553","merchantAccountCode":"TestMerchant","merchantReference":"Bestellung-M\u00fcller-€","amount":{"currency":"JPY","value":0},"eventCode":"AUTHORISATION","success":"true","additionalData":{"hmacSignature":"7fvSYDgp+OZ98Aei6IR/ozc7UqItyi6j/s8CIoOp39s="}}"#,
        ];
        for item in cases {
            verify(KEY, &wrap(item)).unwrap_or_else(|e| panic!("{item}: {e}"));
        }
    }

    #[test]
    fn unsigned_fields_are_not_covered() {
        // The trap: eventDate, reason, live and additionalData are outside the signature.
        let body = wrap(&item("true", SIG));
        let changed = body
            .replace("2019-05-06T17:15:34.121+02:00", "2030-01-01T00:00:00+00:00")
            .replace("\"live\":\"false\"", "\"live\":\"true\"")
            .replace("\"paymentMethod\":\"visa\"", "\"paymentMethod\":\"mc\"");
        verify(KEY, &changed).expect("unsigned fields are not covered");
        for path in [
            PSP_REFERENCE,
            EVENT_CODE,
            SUCCESS,
            MERCHANT_REFERENCE,
            VALUE,
        ] {
            assert!(SCHEME.signs(&Loc::Json(path)), "{path}");
        }
        for path in [
            EVENT_DATE,
            "live",
            "notificationItems.0.NotificationRequestItem.reason",
        ] {
            assert!(!SCHEME.signs(&Loc::Json(path)), "{path}");
        }
        assert!(!SCHEME.signs(&Loc::Digest));
    }

    #[test]
    fn repeated_keys_are_refused() {
        // A repeated signed field is refused outright: whichever copy a reader takes, the body
        // must not say two things about what was verified.
        let body = wrap(&item("true", SIG));
        let malformed = Err(VerifyError::MalformedSignature { header: SIGNATURE });
        for (from, to) in [
            (
                "\"eventCode\":\"AUTHORISATION\"",
                "\"eventCode\":\"AUTHORISATION\",\"eventCode\":\"REFUND\"",
            ),
            ("\"value\":1130", "\"value\":1130,\"value\":1"),
            (
                "\"pspReference\"",
                "\"psp\\u0052eference\":\"1\",\"pspReference\"",
            ),
        ] {
            let changed = body.replacen(from, to, 1);
            assert_eq!(verify(KEY, &changed), malformed, "{to}");
        }
        // A second item object, or a second list of items: read as every parser reads them, the
        // last, which holds no signature.
        let changed = body.replacen("}}]}", "},\"NotificationRequestItem\":{}}]}", 1);
        let twice = format!("{},\"notificationItems\":[]}}", body.trim_end_matches('}'));
        for changed in [changed, twice] {
            assert_eq!(
                verify(KEY, &changed),
                Err(VerifyError::MissingSignature { header: SIGNATURE })
            );
        }
    }

    #[test]
    fn rejections() {
        let cases: &[(String, VerifyError)] = &[
            (
                wrap(r#"{"pspReference":"1","eventCode":"AUTHORISATION"}"#),
                VerifyError::MissingSignature { header: SIGNATURE },
            ),
            (
                wrap(&item("true", "")),
                VerifyError::MissingSignature { header: SIGNATURE },
            ),
            (
                wrap(&item("true", "not base64!")),
                VerifyError::MalformedSignature { header: SIGNATURE },
            ),
            (
                r#"{"live":"false","notificationItems":[]}"#.to_owned(),
                VerifyError::MissingSignature { header: SIGNATURE },
            ),
            (
                wrap(&item("true", SIG)).replace("\"value\":1130", "\"value\":{\"v\":1130}"),
                VerifyError::MalformedSignature { header: SIGNATURE },
            ),
            (
                "notificationItems=1".to_owned(),
                VerifyError::MissingSignature { header: SIGNATURE },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(&verify(KEY, body).expect_err("fails"), want, "{body}");
        }
        assert!(crate::core::verify::engine::decode_secret(&SCHEME, "not-hex").is_err());
    }

    #[test]
    fn absent_and_null_fields_sign_as_empty() {
        let n = parse(br#"{"notificationItems":[{"NotificationRequestItem":{"pspReference":"1","originalReference":null,"eventCode":"REPORT_AVAILABLE","success":"true"}}]}"#)
            .expect("parses");
        assert_eq!(
            n.first().expect("item").signing_string(),
            "1::::::REPORT_AVAILABLE:true"
        );
    }

    fn deliver_body(body: &str) -> Delivered {
        deliver(
            crate::catalogue::sources::Source::new("adyen", &SCHEME),
            std::str::from_utf8(KEY).expect("text"),
            Request::post(&[CT], body.as_bytes(), AT),
        )
    }

    /// `item(success)` signed under KEY (the published signature covers `success: "true"`).
    fn signed(success: &str) -> String {
        let unsigned = wrap(&item(success, ""));
        let key = hex::decode(KEY).expect("hex");
        let n = parse(unsigned.as_bytes()).expect("parses");
        let sig = hmac(&key, &n.first().expect("item").signing_string());
        wrap(&item(success, &sig))
    }

    #[test]
    fn normalization() {
        let got = deliver_body(&signed("true"));
        assert_eq!(got.reply.status, 202, "{}", got.text());
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "7914073381342284:AUTHORISATION:true");
        assert_eq!(e["type"], "adyen.authorisation");
        assert_eq!(e["subject"], "TestPayment-1407325143704");
        assert_eq!(e["time"], "2019-05-06T15:15:34.121Z");
        assert_eq!(
            e["data"]["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"],
            1130
        );
    }

    #[test]
    fn a_failed_then_successful_authorisation_are_two_events() {
        let failed = deliver_body(&signed("false"));
        let succeeded = deliver_body(&signed("true"));
        assert_eq!(
            failed.envelopes[0]["id"],
            "7914073381342284:AUTHORISATION:false"
        );
        assert_eq!(
            succeeded.envelopes[0]["id"],
            "7914073381342284:AUTHORISATION:true"
        );
        // A retry of either is the same id (and idempotency key).
        assert_eq!(
            deliver_body(&signed("false")).envelopes[0]["id"],
            failed.envelopes[0]["id"]
        );
    }

    #[test]
    fn a_batch_is_refused_and_nothing_is_enqueued() {
        let one = signed("true");
        let other = signed("false");
        let item_of = |body: &str| {
            body.trim_start_matches(r#"{"live":"false","notificationItems":["#)
                .trim_end_matches("]}")
                .to_owned()
        };
        for second in [item_of(&other), item_of(&one), r#"{"NotificationRequestItem":{"pspReference":"1","eventCode":"REFUND","additionalData":{"hmacSignature":"AAAA"}}}"#.to_owned()] {
            let batch = format!(
                r#"{{"live":"false","notificationItems":[{},{second}]}}"#,
                item_of(&one)
            );
            let got = deliver_body(&batch);
            assert_eq!(got.reply.status, 400, "{}", got.text());
            assert!(got.text().contains("invalid-field"), "{}", got.text());
            assert!(got.envelopes.is_empty());
        }
    }

    #[test]
    fn only_json_is_accepted() {
        let body = signed("true");
        let got = deliver(
            crate::catalogue::sources::Source::new("adyen", &SCHEME),
            std::str::from_utf8(KEY).expect("text"),
            Request::post(&[("content-type", "text/plain")], body.as_bytes(), AT),
        );
        assert_eq!(got.reply.status, 415, "{}", got.text());
        assert!(got.envelopes.is_empty());
    }

    #[test]
    fn signing_writes_the_signature_into_the_body() {
        use crate::core::verify::engine::sign_body;
        let key = hex::decode(KEY).expect("hex");
        let at = |body: &[u8]| sign_body(&SCHEME, &key, &posted(body));
        let written = at(wrap(&item("true", "")).as_bytes())
            .expect("signs")
            .expect("a body");
        let doc: serde_json::Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(
            doc["notificationItems"][0]["NotificationRequestItem"]["additionalData"]
                ["hmacSignature"],
            SIG
        );
        check(&SCHEME, &[KEY], &[], &written, AT).expect("what it writes verifies");
        assert!(at(br#"{"live":"false"}"#).is_err());
        let batch = format!(
            r#"{{"notificationItems":[{{"NotificationRequestItem":{}}},{{"NotificationRequestItem":{}}}]}}"#,
            item("true", SIG),
            item("true", SIG)
        );
        assert!(at(batch.as_bytes()).is_err());
    }
}
