//! A sender described as data: where its signatures are, what they cover, how they are computed
//! and encoded, how its secret is decoded, where its timestamp, id, type, subject and time are,
//! which bodies it sends and which handshakes it expects.
//!
//! Every named sender in [`crate::catalogue::senders`] is a `static Scheme` built from these primitives
//! (the way rustls declares cipher suites), and the custom scheme ([`crate::catalogue::custom`]) builds the
//! same struct from deploy-time settings. [`crate::core::verify::engine`] and
//! [`crate::core::normalize::engine`] are the only code that reads them.

use std::fmt;

use crate::core::disposition::Disposition;
use crate::core::envelope::{KeyBasis, NormalizeError};
use crate::core::key_url::{CheckedUrl, KeyRequest};
use crate::core::request::{Clock, SecretSet, Signing, Unverified, Verified, VerifyError};
use crate::core::response::Reply;

/// One sender's scheme. Build a named one with `..Scheme::BASE` so unset fields take the
/// common defaults (raw-body HMAC-SHA256, hex, UTF-8 secret, JSON bodies, no timestamp).
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    /// The catalogue name (`github`), also the default route, envelope `source` and type prefix.
    pub name: &'static str,
    /// The sender as its docs name it (`GitHub`).
    pub title: &'static str,
    /// Where the signature candidates come from, and how one header value holds them.
    pub signature: Signature,
    /// The signed content: the concatenation of these parts, in order.
    pub signed: &'static [Part],
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    /// How a configured secret becomes the key.
    pub key: KeyDecoding,
    /// The signed timestamp, for schemes that have one.
    pub timestamp: Option<Timestamp>,
    /// The envelope id: the first location present. `Loc::Digest` always is.
    pub id: &'static [Loc],
    /// The envelope type after `<source>.`: each part that is present, joined with dots.
    pub ty: &'static [TypePart],
    /// The characters, besides ASCII letters and digits, a type part read from a header or query
    /// parameter the signature does not cover may hold: the sender's own alphabet (`_` for
    /// GitHub's `pull_request`, `_:` for Bitbucket's `repo:push`, `_.` for WooCommerce's
    /// `order.created`), never a `.` it does not use.
    pub type_chars: &'static str,
    /// The envelope subject: the first location present (optional).
    pub subject: &'static [Loc],
    /// The event time: the first location present, else the time Inlet received it.
    pub time: &'static [TimeLoc],
    /// Which request bodies the sender sends.
    pub body: Body,
    /// Handshakes this sender expects, answered without enqueueing anything.
    pub handshakes: &'static [Handshake],
    /// Code for what the data cannot say (Twilio's URL and sorted form), beside its sender.
    pub custom: Option<&'static dyn Custom>,
    /// How our tests know the scheme is the sender's (for `inlet sources` and the book's senders table).
    pub evidence: Evidence,
    /// A sentence on anything a user must know (unsigned ids, batch bodies, id fallbacks).
    pub note: &'static str,
    /// The status a sender gets once its event is queued: 202, unless the sender insists on
    /// another (Xero counts anything but 200 as a failure).
    pub accepted: u16,
    /// Whether identical bytes from this sender can be two distinct events: what its duplicates
    /// are recognised by when its id is not a signed, unique one.
    pub repeats: Repeats,
    /// For senders that post several events in one delivery: where they are. Each becomes an
    /// envelope of its own, its `id`, `ty`, `subject` and `time` read from the event.
    pub batch: Option<Batch>,
    /// Whether an id or type read from a body the signature does not cover is held to the checks
    /// of an unsigned header (character set, length): the custom scheme's, whose values Inlet
    /// knows nothing of (`INLET_CUSTOM_UNSIGNED`). A catalogue sender's body is read as its docs
    /// describe it.
    pub check_unsigned_json: bool,
}

impl Scheme {
    /// The common defaults: HMAC-SHA256 of the raw body, hex, the secret's UTF-8 bytes, JSON
    /// bodies, no timestamp, id the body digest, no type parts.
    pub const BASE: Scheme = Scheme {
        name: "",
        title: "",
        signature: Signature {
            at: &[],
            format: Format::Plain,
            all: false,
        },
        signed: &[Part::Body],
        algorithm: Algorithm::Hmac(Hash::Sha256),
        encoding: Encoding::Hex,
        key: KeyDecoding::Utf8,
        timestamp: None,
        id: &[Loc::Digest],
        ty: &[],
        type_chars: "_-",
        subject: &[],
        time: &[],
        body: Body::JSON,
        handshakes: &[],
        custom: None,
        evidence: Evidence::Docs(""),
        note: "",
        accepted: 202,
        repeats: Repeats::Retry,
        batch: None,
        check_unsigned_json: false,
    };

    /// Whether the signature covers the value at `loc` (so an id or type read there cannot be forged).
    pub fn signs(&self, loc: &Loc) -> bool {
        let covers = |part: &Part| match (part, loc) {
            (Part::Body, Loc::Json(_) | Loc::Digest | Loc::DigestWithout(_)) => true,
            (Part::Header(a), Loc::Header(b)) => a.eq_ignore_ascii_case(b),
            (Part::Json(a), Loc::Json(b)) => a == b,
            (Part::Id, l) => self.id.contains(l),
            (Part::Timestamp, l) => self.timestamp.is_some_and(|t| t.at.contains(l)),
            _ => false,
        };
        match self.algorithm {
            // A token or password proves who sent the request, not what it contains.
            Algorithm::Token | Algorithm::Basic => false,
            // A JWT without a body-hash claim is a bearer token too, unless it is the body.
            Algorithm::Jwt(rules)
                if rules.body_hash.is_none() && !self.signature.at.contains(&Loc::Body) =>
            {
                false
            }
            _ => self.signed.iter().any(covers) || self.custom.is_some_and(|c| c.signs(loc)),
        }
    }

    /// How the envelope id behaves under the sender's retries: what duplicates are recognised by
    /// (`inlet sources` and the book's senders table say it for every sender). Read from the first id location.
    pub fn retries(&self) -> Retries {
        self.id
            .first()
            .map_or(Retries::Digest, |loc| self.retries_at(loc))
    }

    /// How an id read at `loc` behaves under the sender's retries: the one decision the
    /// normalizer keys deliveries by.
    pub fn retries_at(&self, loc: &Loc) -> Retries {
        match (loc, self.repeats) {
            (Loc::DigestWithout(member), _) => Retries::DigestWithout(member),
            (Loc::Digest, Repeats::Distinct) => Retries::None,
            (Loc::Digest, Repeats::Retry) => Retries::Digest,
            (loc, _) if self.signs(loc) => Retries::StableId,
            (_, Repeats::Retry) => Retries::Digest,
            (_, Repeats::Distinct) => Retries::DigestAndDeliveryId,
        }
    }

    /// The HTTP methods this sender uses: POST, plus GET or HEAD for handshakes that need them.
    pub fn methods(&self) -> Vec<http::Method> {
        let mut methods = vec![http::Method::POST];
        for h in self.handshakes {
            if let Some(m) = h.method() {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
        }
        methods
    }

    /// Why the scheme cannot work, naming the field; `Ok` for every catalogue entry (tested).
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("name: lower-case letters, digits and `-` only".into());
        }
        if self.signature.at.is_empty() {
            return Err("signature: at least one location is required".into());
        }
        if self.id.is_empty() {
            return Err("id: at least one location is required (`digest` always works)".into());
        }
        let asymmetric = self.algorithm.public_key();
        if asymmetric && self.signed.contains(&Part::Secret) {
            return Err("signed: a public-key scheme cannot sign its key".into());
        }
        if let Algorithm::Jwt(rules) = self.algorithm {
            let hs = rules
                .algorithms
                .iter()
                .filter(|a| a.hmac().is_some())
                .count();
            if rules.algorithms.is_empty() || (hs != 0 && hs != rules.algorithms.len()) {
                return Err(
                    "algorithm: a JWT scheme allows HMAC or public-key algorithms, not both".into(),
                );
            }
            if self.encoding != Encoding::Raw {
                return Err("encoding: a JWT is read as it is sent (raw)".into());
            }
        }
        if self.signature.at.contains(&Loc::Body)
            && (self.signature.at.len() != 1 || !matches!(self.algorithm, Algorithm::Jwt(_)))
        {
            return Err("signature: `body` is the only location of a JWT that is the body".into());
        }
        if matches!(self.algorithm, Algorithm::Digest(_)) && !self.signed.contains(&Part::Secret) {
            return Err(
                "signed: a plain digest must include {secret}, or anyone could sign".into(),
            );
        }
        if self.signed.contains(&Part::Timestamp) && self.timestamp.is_none() {
            return Err("signed: it uses {timestamp} but no timestamp is configured".into());
        }
        if matches!(
            self.signature.format,
            Format::Kv { .. } | Format::TimestampFirst
        ) && self
            .signature
            .at
            .iter()
            .any(|l| !matches!(l, Loc::Header(_)))
        {
            return Err("signature: a key=value list must be in a header".into());
        }
        if self
            .timestamp
            .is_some_and(|t| t.at.iter().any(|l| matches!(l, Loc::Kv(_))))
            && !matches!(
                self.signature.format,
                Format::Kv { .. } | Format::TimestampFirst
            )
        {
            return Err("timestamp: `kv:` needs a key=value signature format".into());
        }
        Ok(())
    }
}

/// Where a value is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// A request header (lower-case name); must appear once.
    Header(&'static str),
    /// A dotted path into the JSON body (or the fields of a form body); `events.0.id` indexes arrays.
    Json(&'static str),
    /// A key of the signature header's key=value list (`t` in Stripe's `t=…,v1=…`).
    Kv(&'static str),
    /// A query-string parameter.
    Query(&'static str),
    /// `sha256:<hex>` of the raw body (or, in a batch, of the event's bytes): identical on every
    /// retry of the same bytes.
    Digest,
    /// `sha256:<hex>` of the event with this top-level member left out, for senders whose retries
    /// change one member and nothing else (HubSpot's `attemptNumber`): the members, sorted by
    /// name, each value as sent.
    DigestWithout(&'static str),
    /// The whole body, as text: a signature location only, for a sender whose body is itself a
    /// JWT ([`Algorithm::Jwt`]; Wix), whose claims are then what the signature covers.
    Body,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(h) => write!(f, "header:{h}"),
            Self::Json(p) => write!(f, "json:{p}"),
            Self::Kv(k) => write!(f, "kv:{k}"),
            Self::Query(q) => write!(f, "query:{q}"),
            Self::Digest => f.write_str("digest"),
            Self::DigestWithout(member) => write!(f, "digest without {member}"),
            Self::Body => f.write_str("body"),
        }
    }
}

/// What identical bytes from a sender mean, for the senders whose envelope id is not a signed,
/// unique event id (the body digest, or an unsigned header such as GitHub's `X-GitHub-Delivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    /// Always a retry: every event's bytes hold something unique to it (an event id, a precise
    /// time, a nonce), so duplicates are recognised by the body digest.
    Retry,
    /// Possibly two distinct events (Dropbox's notifications name only the account, Graph's only
    /// the resource, GitHub's `repository_dispatch` is the same call twice): the body digest
    /// alone suppresses nothing. With an unsigned delivery id, duplicates are recognised by the
    /// digest and that id together (a sender's retry repeats both; two events differ in the id);
    /// without one, every delivery is queued (at-least-once), under an id of its own.
    Distinct,
}

/// How a sender's envelope id behaves under its retries (see [`Scheme::retries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// A signed id the sender repeats on every retry and never reuses: duplicates by the id.
    StableId,
    /// The digest of a body every retry repeats byte for byte, and no two events share.
    Digest,
    /// The digest of the event without this member, the one a retry changes (HubSpot's
    /// `attemptNumber`).
    DigestWithout(&'static str),
    /// Identical bodies can be distinct events, told apart by an unsigned delivery id that a
    /// retry repeats: duplicates by the digest and that id together.
    DigestAndDeliveryId,
    /// Identical bodies can be distinct events and nothing tells a retry apart: nothing is
    /// suppressed (at-least-once), each delivery queued under an id of its own.
    None,
}

impl fmt::Display for Retries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StableId => f.write_str("stable id"),
            Self::Digest => f.write_str("digest of a retry-identical body"),
            Self::DigestWithout(member) => write!(f, "digest of the event without {member}"),
            Self::DigestAndDeliveryId => f.write_str("digest + unsigned delivery id"),
            Self::None => f.write_str("none, at-least-once"),
        }
    }
}

impl From<Retries> for KeyBasis {
    /// What duplicates of an id that behaves so under retries are recognised by. A digest id is
    /// keyed by the digest, which is the id itself.
    fn from(retries: Retries) -> Self {
        match retries {
            Retries::StableId | Retries::DigestWithout(_) => Self::Id,
            Retries::Digest => Self::BodyDigest,
            Retries::DigestAndDeliveryId => Self::DigestAndId,
            Retries::None => Self::None,
        }
    }
}

/// Where a delivery's events are, for senders that post several in one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// The dotted path of the array of events; `""` when the body is the array (a body that is an
    /// object is then one event).
    pub items: &'static str,
}

/// Where signatures are and how a value holds them.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// Locations in order; the first present is used, or every present one when `all`.
    pub at: &'static [Loc],
    pub format: Format,
    /// Read every location present (Box's primary and secondary headers, DocuSign's numbered ones).
    pub all: bool,
}

/// How one value holds the signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole value is one signature.
    Plain,
    /// A literal prefix, then one signature (`sha256=<hex>`).
    Prefix(&'static str),
    /// `key=value` items separated by `sep` (spaces around items ignored); every item whose key
    /// is `key` is a signature (Stripe `t=…,v1=…,v1=…`, Paddle `ts=…;h1=…`).
    /// `sep` is written between items when signing (`,`, `;` or WorkOS's `, `).
    Kv {
        sep: &'static str,
        key: &'static str,
    },
    /// Space-separated `version,signature` items; those of `version` are candidates
    /// (Standard Webhooks `v1,<base64> v1,<base64>`).
    Versioned { version: &'static str },
    /// Several comma-separated values, each with this prefix (PagerDuty `v1=<hex>,v1=<hex>`).
    List { prefix: &'static str },
    /// A comma-separated list whose first item is the timestamp and the rest signatures (Recurly's
    /// `1542234807239,<hex>,<hex>`): the timestamp's location is `kv:t`.
    TimestampFirst,
}

/// One part of the signed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The raw body, exactly as received.
    Body,
    /// The timestamp exactly as sent.
    Timestamp,
    /// The delivery id exactly as sent (the scheme's first id location).
    Id,
    /// A header's value.
    Header(&'static str),
    /// A value from the JSON body (as a string).
    Json(&'static str),
    /// The public URL the sender posts to, exactly as registered with it.
    Url,
    /// The HTTP method.
    Method,
    /// Literal bytes.
    Lit(&'static str),
    /// The secret itself (plain-digest schemes).
    Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    /// JWT HS384/RS384/PS384/ES384 and ECDSA P-384 senders.
    Sha384,
    Sha512,
}

/// How the signature is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Hmac(Hash),
    /// A plain digest of content that includes the secret (Cloudinary, HubSpot v1/v2).
    Digest(Hash),
    /// Ed25519; the configured "secret" is the sender's public key.
    Ed25519,
    /// ECDSA P-256 with SHA-256, DER signature; the "secret" is the public key (SPKI DER).
    EcdsaP256,
    /// RSA with this padding and hash; the "secret" is the sender's public key (PEM, a JWK, or
    /// base64 of SPKI or certificate DER), at least 2048 bits.
    Rsa(Padding, Hash),
    /// ECDSA on this curve over this hash, the signature DER or fixed `r || s`; the "secret" is
    /// the sender's public key, as for [`Algorithm::Rsa`].
    Ecdsa(Curve, Hash),
    /// The signature value is a JWT (JWS compact form, [`crate::core::verify::keys::verify_jwt`])
    /// checked against these rules; `signed` is what its body-hash claim covers. The secret is
    /// the HMAC key when the rules allow `HS*` algorithms, else the sender's public key. A token
    /// whose claims fail (expired, issued outside the window, wrong audience or body hash) is
    /// refused as a signature that does not match. A rule's `max_age` gives way to the
    /// deployment's timestamp tolerance when that is set lower.
    Jwt(JwtRules),
    /// The value equals the secret (a shared token), compared in constant time.
    Token,
    /// HTTP Basic credentials `user:password` equal the secret.
    Basic,
}

/// RSA signature padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// RSASSA-PKCS1-v1_5.
    Pkcs1v15,
    /// RSASSA-PSS, MGF1 with the same hash, a salt as long as the hash.
    Pss,
}

/// An ECDSA curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
}

impl Algorithm {
    /// Whether the configured "secret" is the sender's public key.
    pub fn public_key(&self) -> bool {
        match self {
            Self::Ed25519 | Self::EcdsaP256 | Self::Rsa(..) | Self::Ecdsa(..) => true,
            Self::Jwt(rules) => rules.algorithms.iter().all(|a| a.hmac().is_none()),
            _ => false,
        }
    }
}

/// How signature bytes are written in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal, either case.
    Hex,
    /// Standard base64 (padding optional).
    Base64,
    /// URL-safe base64 (padding optional).
    Base64Url,
    /// The bytes as sent (tokens).
    Raw,
}

/// How a configured secret becomes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDecoding {
    /// The secret's UTF-8 bytes, verbatim (Stripe's `whsec_…` too).
    Utf8,
    /// Base64.
    Base64,
    /// Hexadecimal.
    Hex,
    /// `whsec_` (optional) then base64: Standard Webhooks and Svix.
    Whsec,
}

/// Where the signed timestamp is, its unit, and the window the sender's own SDK enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Locations in order, the first present used; with as many as the signature has, they
    /// pair with the signature's by position (`webhook-*` or `svix-*` headers, never a mix).
    pub at: &'static [Loc],
    pub unit: Unit,
    /// Seconds a timestamp may be from now, in either direction (configurable per deployment).
    pub tolerance: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Millis,
    /// RFC 3339 (any offset, optional fraction).
    Rfc3339,
}

/// One part of the envelope type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypePart {
    /// A value that must be there (400 when it is not).
    Required(Loc),
    /// A value used when present.
    Optional(Loc),
    /// A fixed word.
    Lit(&'static str),
    /// The first of these top-level JSON keys the body has, when it has one (senders that say
    /// what an event is by which member it carries: X's event arrays, Telegram's update fields).
    KeyOf(&'static [&'static str]),
}

/// Where the event time is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLoc {
    /// The signed timestamp.
    Signed,
    /// A value in the body or a header, in this unit.
    At(Loc, Unit),
}

/// Which bodies a sender sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    pub json: bool,
    pub form: Form,
    /// Anything else is kept as `data_base64` with type `<source>.raw`.
    pub other: bool,
}

impl Body {
    pub const JSON: Body = Body {
        json: true,
        form: Form::No,
        other: false,
    };
    pub const JSON_OR_FORM: Body = Body {
        json: true,
        form: Form::Fields,
        other: false,
    };
    pub const ANY: Body = Body {
        json: true,
        form: Form::Fields,
        other: true,
    };
}

/// What a form-encoded body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Not accepted.
    No,
    /// Its fields become a JSON object (a repeated field, an array).
    Fields,
    /// The JSON document in this field is the event (GitHub's `payload=`).
    JsonIn(&'static str),
}

/// Handshakes: requests a sender makes to check the endpoint, answered here and never enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// Signed JSON `{"type":"url_verification","challenge":C}` → 200 `C` (Slack).
    SlackUrlVerification,
    /// Signed form `ssl_check=1` → 200 empty (Slack).
    SlackSslCheck,
    /// `Twitch-Eventsub-Message-Type: webhook_callback_verification` → 200 text/plain challenge.
    TwitchCallbackVerification,
    /// Signed `{"event":"endpoint.url_validation","payload":{"plainToken":P}}` →
    /// `{"plainToken":P,"encryptedToken":hex(HMAC-SHA256(secret,P))}` (Zoom).
    ZoomUrlValidation,
    /// Signed `{"type":1}` → `{"type":1}`; webhook-event `{"type":0}` → 204 (Discord).
    DiscordPing,
    /// `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C` → 200 `C` when T is the
    /// configured `VERIFY_TOKEN`, else 403 (Meta).
    MetaSubscribe,
    /// `GET ?challenge=X` → 200 text/plain `X` with `X-Content-Type-Options: nosniff` (Dropbox).
    DropboxChallenge,
    /// `GET` with `X-Okta-Verification-Challenge: V` → `{"verification":V}` (Okta).
    OktaVerification,
    /// `POST ?validationToken=T` → 200 text/plain `T` (Microsoft Graph).
    GraphValidation,
    /// `GET ?crc_token=T` → `{"response_token":"sha256=" + base64(HMAC-SHA256(secret,T))}` (X).
    XCrc,
    /// Signed `{"events":[]}` (intent to receive) → 200 empty; a bad signature gets 401 (Xero).
    XeroIntent,
    /// Unsigned form `webhook_id=<n>` on creation → 200 empty (WooCommerce).
    WooCommercePing,
    /// `HEAD` on creation → 200 (Trello).
    TrelloHead,
    /// `GET ?bt_challenge=C` (C 20 to 32 lower-case hex digits) → 200 text/plain
    /// `public_key|hex(HMAC-SHA1(SHA1(private_key), C))` (Braintree).
    BraintreeChallenge,
    /// Unsigned `POST` with `X-Hook-Secret: S` on creation → 200 echoing `X-Hook-Secret: S`, and
    /// S becomes the source's secret (Asana). Answered only while the source awaits its secret
    /// ([`crate::ports::secrets::AWAIT_HANDSHAKE`]) and S could be stored first; refused otherwise.
    AsanaHookSecret,
    /// Unsigned `POST {"verification_token":T}` on subscription → 200 empty, and T becomes the
    /// source's secret (Notion), read back by the operator from the secret store. Answered only
    /// while the source awaits its secret and T could be stored first; refused otherwise.
    NotionVerification,
}

impl Handshake {
    /// Whether the handshake hands over the secret later deliveries are signed with, which
    /// Inlet stores (create-if-absent) rather than answering from configuration.
    pub fn stores_secret(&self) -> bool {
        matches!(self, Self::AsanaHookSecret | Self::NotionVerification)
    }

    /// The extra HTTP method the handshake arrives with, if not POST.
    pub fn method(&self) -> Option<http::Method> {
        match self {
            Self::MetaSubscribe
            | Self::DropboxChallenge
            | Self::OktaVerification
            | Self::XCrc
            | Self::BraintreeChallenge => Some(http::Method::GET),
            Self::TrelloHead => Some(http::Method::HEAD),
            _ => None,
        }
    }

    /// A short name for tables and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SlackUrlVerification => "url_verification",
            Self::SlackSslCheck => "ssl_check",
            Self::TwitchCallbackVerification => "webhook_callback_verification",
            Self::ZoomUrlValidation => "endpoint.url_validation",
            Self::DiscordPing => "PING",
            Self::MetaSubscribe => "GET hub.challenge",
            Self::DropboxChallenge => "GET challenge",
            Self::OktaVerification => "GET verification challenge",
            Self::GraphValidation => "validationToken",
            Self::XCrc => "GET crc_token",
            Self::XeroIntent => "intent to receive",
            Self::WooCommercePing => "creation ping",
            Self::TrelloHead => "HEAD",
            Self::BraintreeChallenge => "GET bt_challenge",
            Self::AsanaHookSecret => "X-Hook-Secret (stored)",
            Self::NotionVerification => "verification_token (stored)",
        }
    }
}

/// How our tests establish that Inlet verifies a sender as the sender does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The sender's own SDK signs deliveries for the tests and verifies what `inlet sign` makes.
    Sdk(&'static str),
    /// Tested with vectors and round trips; the sender's SDK (named) is in the registries and
    /// its oracle tests are still to be written.
    SdkPending(&'static str),
    /// Known-answer vectors published by the sender or its SDK's tests.
    Vectors,
    /// Vectors we derived from the sender's documentation (no SDK or published vector exists),
    /// cross-checked against this independent open-source implementation (the sender's own
    /// sample or sending code, or another project's verifier), named in the sender's file.
    Docs(&'static str),
    /// A scheme configured at deploy time (the custom scheme): its settings' unit tests.
    Configured,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sdk(sdk) => write!(f, "SDK {sdk}"),
            Self::SdkPending(sdk) => write!(f, "vectors + round trips (SDK oracle {sdk}: to do)"),
            Self::Vectors => f.write_str("published vectors"),
            Self::Docs(check) => write!(f, "docs, cross-checked: {check}"),
            Self::Configured => f.write_str("configured"),
        }
    }
}

/// A JWS algorithm (RFC 7518 §3.1, RFC 8037). `none` is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl JwtAlg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::HS384 => "HS384",
            Self::HS512 => "HS512",
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }

    /// The HMAC hash, for the `HS*` algorithms.
    pub fn hmac(self) -> Option<Hash> {
        match self {
            Self::HS256 => Some(Hash::Sha256),
            Self::HS384 => Some(Hash::Sha384),
            Self::HS512 => Some(Hash::Sha512),
            _ => None,
        }
    }
}

/// A claim that must hold the hex digest of the request body (Plaid's `request_body_sha256`,
/// Netlify's `sha256`, Vonage's `payload_hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyHash {
    pub claim: &'static str,
    pub hash: Hash,
}

/// What a JWT must satisfy besides its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtRules {
    /// The `alg` values accepted; any other (and `none`) is refused.
    pub algorithms: &'static [JwtAlg],
    /// Whether `exp` must be present (it is held to `now` whenever it is).
    pub require_exp: bool,
    /// When set, `iat` must be present and at most this many seconds from `now`, either way.
    pub max_age: Option<u64>,
    /// Seconds of clock skew allowed for `exp` and `nbf`.
    pub leeway: u64,
    /// When set, `aud` must be (or, as an array, contain) this value.
    pub audience: Option<&'static str>,
    /// When set, `iss` must be this value.
    pub issuer: Option<&'static str>,
    /// When set, this claim must be the hex digest of the body.
    pub body_hash: Option<BodyHash>,
}

impl JwtRules {
    /// HS256 only, no claim required: start from this with `..JwtRules::BASE`.
    pub const BASE: JwtRules = JwtRules {
        algorithms: &[JwtAlg::HS256],
        require_exp: false,
        max_age: None,
        leeway: 0,
        audience: None,
        issuer: None,
        body_hash: None,
    };
}

/// Code for a scheme the data cannot fully describe, kept beside the one sender that needs it.
/// Each hook returns `None` to leave the step to the data.
pub trait Custom: Send + Sync + fmt::Debug {
    /// The signed content, replacing the scheme's `signed` parts (Twilio's URL + sorted form).
    fn signed_content(&self, _req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        None
    }

    /// The answer to the sender's own unsigned challenge ([`Handshake::XCrc`]'s `crc_token`,
    /// [`Handshake::BraintreeChallenge`]'s `bt_challenge`), `value` as the query carries it,
    /// computed with the active secrets; `None` when it is not one (it is then verified as a
    /// delivery). Anyone can send a challenge: the sender's file shows that no answer is the
    /// signature of anything a delivery could be.
    fn answer_challenge(
        &self,
        _value: &str,
        _req: &Unverified<'_>,
        _secrets: &SecretSet,
    ) -> Option<Result<Reply, VerifyError>> {
        None
    }

    /// The envelope or reply for a verified request the data cannot describe (Slack's forms).
    fn normalize<'b>(
        &self,
        _source: &str,
        _verified: &Verified<'b>,
        _received: std::time::SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        None
    }

    /// The headers a sender adds to sign a request, when the data cannot say (Twilio).
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        None
    }

    /// As [`Custom::sign`], for a request that also carries `given` headers (name, value), when
    /// they choose how it is signed (Twilio's `X-Twilio-Webhooks-Signature-Settings`).
    fn sign_with_headers(
        &self,
        _key: &[u8],
        _s: &Signing<'_>,
        _given: &[(String, String)],
    ) -> Option<Result<Vec<(String, String)>, String>> {
        None
    }

    /// Whether the custom signed content covers `loc`.
    fn signs(&self, _loc: &Loc) -> bool {
        false
    }

    /// Whether the custom signed content includes the public URL.
    fn signs_url(&self) -> bool {
        false
    }

    /// The body with its signature written in, for senders that sign inside the body (Adyen's
    /// `hmacSignature`, Braintree's `bt_signature`); the CLI and tests sign with it.
    fn sign_body(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        None
    }

    /// The key a configured secret becomes, when the scheme's `key` decoding cannot say
    /// (Braintree's `public_key:private_key`); `Err` names what the secret must be.
    fn decode_secret(&self, _secret: &str) -> Option<Result<Vec<u8>, String>> {
        None
    }

    /// A development secret in the shape [`Custom::decode_secret`] takes, built from `text`
    /// (for `inlet serve` and `inlet sign` when none is given).
    fn dev_secret(&self, _text: &str) -> Option<String> {
        None
    }

    /// Whether `req` is signed under `key`, when the data cannot say where its signature is or
    /// how it is compared (Braintree's `public_key|signature` pairs inside a form body).
    /// `Err` when the request is not signed that way whatever the key. It replaces the
    /// engine's reading of `signature` and `signed`, and no timestamp is read: such a scheme
    /// signs none.
    fn verify(&self, _req: &Unverified<'_>, _key: &[u8]) -> Option<Result<bool, VerifyError>> {
        None
    }

    /// Whether the sender's key is fetched from it (SNS, PayPal, Plaid): the function then
    /// builds its key port ([`crate::ports::fetched`]) at start-up.
    fn fetches_keys(&self) -> bool {
        false
    }

    /// For a sender whose key is fetched: the key `req` names (SNS's `SigningCertURL`, PayPal's
    /// `PAYPAL-CERT-URL`, Plaid's `kid`), already checked against the hosts the sender documents
    /// ([`crate::core::verify::fetch::check_url`]); `Err` when the request names none, or one from
    /// anywhere else (401, and nothing is fetched).
    fn key_request(
        &self,
        _req: &Unverified<'_>,
        _secrets: &SecretSet,
    ) -> Option<Result<KeyRequest, VerifyError>> {
        None
    }

    /// Whether `req` is signed by the fetched key (`fetched`: the bytes [`Custom::key_request`]
    /// named) for the configured `secret`: `Ok(Some(signed timestamp))` when it is (the window
    /// already checked), `Ok(None)` when not for this secret.
    fn verify_fetched(
        &self,
        _req: &Unverified<'_>,
        _secret: &[u8],
        _fetched: &[u8],
        _clock: &Clock,
    ) -> Option<Result<Option<i64>, VerifyError>> {
        None
    }

    /// A URL a verified request asks to be visited before it is answered (SNS's
    /// `SubscribeURL`), checked like a key URL; the answer is then 200, and nothing is queued.
    fn visit(&self, _verified: &Verified<'_>) -> Option<Result<CheckedUrl, VerifyError>> {
        None
    }
}
