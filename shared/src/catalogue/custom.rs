//! The custom scheme: a sender that is not in the catalogue (a company's own apps), described
//! entirely by `INLET_CUSTOM_*` settings at deploy time and built into the same [`Scheme`] the
//! catalogue uses. A setting that cannot be read, or that the scheme it describes does not use,
//! stops the function at start-up, naming it.
//!
//! | Setting | Values (default) |
//! |---|---|
//! | `INLET_CUSTOM_SIGNATURE` | where: `header:<name>`, `json:<path>` or `query:<name>`; alternatives with `\|` (required; `header:Authorization` for `basic`) |
//! | `INLET_CUSTOM_SIGNATURE_FORMAT` | `plain`, `prefix:<p>`, `kv:<sep>:<key>`, `versioned:<v>`, `list:<prefix>` (`plain`; `prefix:Basic ` for `basic`) |
//! | `INLET_CUSTOM_SIGNED` | template of `{body}` `{timestamp}` `{id}` `{header:<n>}` `{json:<p>}` `{url}` `{method}` `{secret}` and literal text (`{body}`; none for `token`, `basic`) |
//! | `INLET_CUSTOM_ALGORITHM` | `hmac-sha256`, `hmac-sha1`, `hmac-sha384`, `hmac-sha512`, `sha256`, `sha1`, `sha512`, `ed25519`, `ecdsa-p256`, `ecdsa-p384`, `rsa-sha1`, `rsa-sha256`, `rsa-sha512`, `rsa-pss-sha256`, `rsa-pss-sha512`, `jwt-hs256`, `jwt-rs256`, `jwt-es256`, `token`, `basic` (`hmac-sha256`); for `rsa-*`, `ecdsa-p384` and `jwt-rs256`/`jwt-es256` the secret is the sender's public key (PEM, JWK or base64 DER); a `jwt-*` signature is a JWT whose `iat` must be within the tolerance and whose `exp`, when present, holds |
//! | `INLET_CUSTOM_ENCODING` | `hex`, `base64`, `base64url`, `raw` (`hex`; `raw` for `token`; `basic` is `base64`) |
//! | `INLET_CUSTOM_KEY` | `utf8`, `base64`, `hex`, `whsec` (`utf8`) |
//! | `INLET_CUSTOM_TIMESTAMP` | `header:<name>`, `kv:<key>` or `json:<path>`, which the signature must cover (none) |
//! | `INLET_CUSTOM_TIMESTAMP_UNIT` | `s`, `ms`, `rfc3339` (`s`) |
//! | `INLET_CUSTOM_TOLERANCE` | seconds either side of now (300) |
//! | `INLET_CUSTOM_ID` | `header:<n>`, `json:<p>`, `query:<n>`, `digest`, alternatives with `\|` (`digest`) |
//! | `INLET_CUSTOM_TYPE` | space-separated parts `json:<p>`, `header:<n>`, `query:<n>`, a word; `?` after a part makes it optional (none) |
//! | `INLET_CUSTOM_SUBJECT` | locations with `\|` (none) |
//! | `INLET_CUSTOM_TIME` | `timestamp` or `<location>@<unit>`, alternatives with `\|` (none) |
//! | `INLET_CUSTOM_BODY` | `json`, `json+form`, `any` (`json`) |
//! | `INLET_CUSTOM_UNSIGNED` | what the signature may leave uncovered: `body`, `id`, `type`, comma-separated (none) |
//!
//! The signature must cover the body, the timestamp, and every place an id or type is read
//! from, unless `INLET_CUSTOM_UNSIGNED` lists it: a replay could otherwise change what it does
//! not cover. A timestamp must always be covered (an unsigned one protects nothing); `token` and
//! `basic` sign nothing, so they need `body` listed (and `id`, `type` for ids and types read from
//! the request). Unsigned ids and types are checked as unsigned headers are.

use crate::config::{ConfigError, Env};
use crate::core::scheme::{
    Algorithm, Body, Curve, Encoding, Evidence, Format, Hash, KeyDecoding, Loc, Padding, Part,
    Scheme, Signature, TimeLoc, Timestamp, TypePart, Unit,
};
use crate::core::verify::keys::{JwtAlg, JwtRules};

pub use crate::config::custom::SETTINGS;
use crate::config::custom::{
    ALGORITHM as ALG, BODY, ENCODING as ENC, FORMAT, ID, KEY, SIGNATURE as SIG, SIGNED, SUBJECT,
    TIME, TIMESTAMP as TS, TIMESTAMP_UNIT as UNIT, TOLERANCE as TOL, TYPE, UNSIGNED,
};

/// A setting's text kept for the life of the process, as a scheme's `&'static str`.
pub(crate) fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// What `INLET_CUSTOM_UNSIGNED` lets the signature leave uncovered.
#[derive(Debug, Default, Clone, Copy)]
struct Unsigned {
    body: bool,
    id: bool,
    ty: bool,
}

impl Unsigned {
    fn parse(text: &str) -> Result<Self, String> {
        let mut allowed = Self::default();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "body" => allowed.body = true,
                "id" => allowed.id = true,
                "type" => allowed.ty = true,
                "timestamp" => {
                    return Err("a timestamp must be signed: an unsigned one protects nothing, since a replay can carry a fresh one".into())
                }
                _ => return Err(format!("`{word}` is none of body, id, type (comma-separated)")),
            }
        }
        Ok(allowed)
    }
}

/// The custom scheme the environment describes, for the source `name`.
pub fn from_env(env: &Env, name: &'static str) -> Result<Scheme, ConfigError> {
    let get = |var: &str| env.get(var).map(str::trim).filter(|v| !v.is_empty());
    let bad = |var: &str, expected: &str| ConfigError::Invalid {
        var: var.into(),
        expected: expected.into(),
    };
    let unused = |var: &str, reason: &str| ConfigError::Unused {
        var: var.into(),
        reason: reason.into(),
    };

    let algorithm = match get(ALG).unwrap_or("hmac-sha256") {
        "hmac-sha256" => Algorithm::Hmac(Hash::Sha256),
        "hmac-sha1" => Algorithm::Hmac(Hash::Sha1),
        "hmac-sha512" => Algorithm::Hmac(Hash::Sha512),
        "sha256" => Algorithm::Digest(Hash::Sha256),
        "sha1" => Algorithm::Digest(Hash::Sha1),
        "sha512" => Algorithm::Digest(Hash::Sha512),
        "ed25519" => Algorithm::Ed25519,
        "ecdsa-p256" => Algorithm::EcdsaP256,
        "hmac-sha384" => Algorithm::Hmac(Hash::Sha384),
        "ecdsa-p384" => Algorithm::Ecdsa(Curve::P384, Hash::Sha384),
        "rsa-sha1" => Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha1),
        "rsa-sha256" => Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha256),
        "rsa-sha512" => Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha512),
        "rsa-pss-sha256" => Algorithm::Rsa(Padding::Pss, Hash::Sha256),
        "rsa-pss-sha512" => Algorithm::Rsa(Padding::Pss, Hash::Sha512),
        "jwt-hs256" => Algorithm::Jwt(custom_jwt(&[JwtAlg::HS256])),
        "jwt-rs256" => Algorithm::Jwt(custom_jwt(&[JwtAlg::RS256])),
        "jwt-es256" => Algorithm::Jwt(custom_jwt(&[JwtAlg::ES256])),
        "token" => Algorithm::Token,
        "basic" => Algorithm::Basic,
        _ => return Err(bad(ALG, "one of hmac-sha256, hmac-sha1, hmac-sha384, hmac-sha512, sha256, sha1, sha512, ed25519, ecdsa-p256, ecdsa-p384, rsa-sha1, rsa-sha256, rsa-sha512, rsa-pss-sha256, rsa-pss-sha512, jwt-hs256, jwt-rs256, jwt-es256, token, basic")),
    };
    let basic = algorithm == Algorithm::Basic;
    // A token or credentials are compared whole: nothing is signed.
    let signs_nothing = matches!(
        algorithm,
        Algorithm::Token | Algorithm::Basic | Algorithm::Jwt(_)
    );

    // HTTP Basic credentials are where RFC 7617 puts them, as Postmark's are.
    let signature_at = match (get(SIG), basic) {
        (Some(at), _) => at,
        (None, true) => "header:Authorization",
        (None, false) => {
            return Err(ConfigError::Missing {
                var: SIG.into(),
                expected: "where the signature is, e.g. `header:X-Signature`".into(),
            })
        }
    };
    let at = locations(signature_at, false).map_err(|e| bad(SIG, &e))?;

    let format = match get(FORMAT).unwrap_or(if basic { "prefix:Basic " } else { "plain" }) {
        "plain" => Format::Plain,
        f => {
            let (kind, rest) = f.split_once(':').ok_or_else(|| {
                bad(
                    FORMAT,
                    "`plain`, `prefix:<p>`, `kv:<sep>:<key>`, `versioned:<v>` or `list:<prefix>`",
                )
            })?;
            match kind {
                "prefix" => Format::Prefix(leak(rest)),
                "versioned" => Format::Versioned {
                    version: leak(rest),
                },
                "list" => Format::List { prefix: leak(rest) },
                "kv" => {
                    let (sep, key) = rest
                        .split_once(':')
                        .filter(|(s, k)| matches!(*s, "," | ";" | ", ") && !k.is_empty())
                        .ok_or_else(|| {
                            bad(
                                FORMAT,
                                "`kv:<sep>:<key>` with sep `,` or `;`, e.g. `kv:,:v1`",
                            )
                        })?;
                    Format::Kv {
                        sep: leak(sep),
                        key: leak(key),
                    }
                }
                _ => return Err(bad(
                    FORMAT,
                    "`plain`, `prefix:<p>`, `kv:<sep>:<key>`, `versioned:<v>` or `list:<prefix>`",
                )),
            }
        }
    };

    let signed = match (get(SIGNED), signs_nothing) {
        (Some(_), true) => {
            return Err(unused(
                SIGNED,
                "a `token` or `basic` credential is compared whole and a custom `jwt-*` token signs nothing of the request",
            ))
        }
        (None, true) => &[][..],
        (text, false) => template(text.unwrap_or("{body}")).map_err(|e| bad(SIGNED, &e))?,
    };

    let default_encoding = match algorithm {
        Algorithm::Token | Algorithm::Jwt(_) => "raw",
        Algorithm::Basic => "base64",
        _ => "hex",
    };
    let encoding = match get(ENC).unwrap_or(default_encoding) {
        "hex" => Encoding::Hex,
        "base64" => Encoding::Base64,
        "base64url" => Encoding::Base64Url,
        "raw" => Encoding::Raw,
        _ => return Err(bad(ENC, "one of hex, base64, base64url, raw")),
    };
    if basic && encoding != Encoding::Base64 {
        return Err(bad(
            ENC,
            "`basic` credentials are base64 `user:password` (RFC 7617); a secret sent as it is, is a `token`",
        ));
    }

    let key = match get(KEY).unwrap_or("utf8") {
        "utf8" => KeyDecoding::Utf8,
        "base64" => KeyDecoding::Base64,
        "hex" => KeyDecoding::Hex,
        "whsec" => KeyDecoding::Whsec,
        _ => return Err(bad(KEY, "one of utf8, base64, hex, whsec")),
    };

    let timestamp = match get(TS) {
        None => {
            if let Some(var) = [UNIT, TOL].into_iter().find(|v| get(v).is_some()) {
                return Err(unused(
                    var,
                    "INLET_CUSTOM_TIMESTAMP is not set, so the scheme has no timestamp (a replay window needs one)",
                ));
            }
            None
        }
        // A deployment-wide WEBHOOK_TOLERANCE_SECONDS overrides it, as it overrides every
        // sender's own window; the source's entry setting both is one window too many.
        Some(_) if get(TOL).is_some() && env.from_entry(crate::config::TOLERANCE) => {
            return Err(unused(
                TOL,
                "this source's entry also sets WEBHOOK_TOLERANCE_SECONDS, which takes its place: give the window once",
            ))
        }
        Some(t) => Some(Timestamp {
            at: locations(t, true).map_err(|e| bad(TS, &e))?,
            unit: unit(get(UNIT).unwrap_or("s")).ok_or_else(|| bad(UNIT, "s, ms or rfc3339"))?,
            tolerance: match get(TOL) {
                None => 300,
                Some(t) => t
                    .parse()
                    .ok()
                    .filter(|t| (1..=86_400).contains(t))
                    .ok_or_else(|| bad(TOL, "a whole number of seconds from 1 to 86400"))?,
            },
        }),
    };

    let id = locations(get(ID).unwrap_or("digest"), false).map_err(|e| bad(ID, &e))?;

    let mut ty = Vec::new();
    for part in get(TYPE).unwrap_or("").split_whitespace() {
        let (part, optional) = match part.strip_suffix('?') {
            Some(p) => (p, true),
            None => (part, false),
        };
        ty.push(if part.contains(':') {
            let loc = location(part, false).map_err(|e| bad(TYPE, &e))?;
            if optional {
                TypePart::Optional(loc)
            } else {
                TypePart::Required(loc)
            }
        } else if !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            TypePart::Lit(leak(part))
        } else {
            return Err(bad(
                TYPE,
                "parts like `json:event`, `header:X-Event` or a plain word",
            ));
        });
    }

    let subject = match get(SUBJECT) {
        None => &[][..],
        Some(s) => locations(s, false).map_err(|e| bad(SUBJECT, &e))?,
    };

    let mut time = Vec::new();
    for alt in get(TIME)
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        time.push(if alt == "timestamp" {
            if timestamp.is_none() {
                return Err(bad(
                    TIME,
                    "`timestamp` names the signed timestamp, and INLET_CUSTOM_TIMESTAMP is not set",
                ));
            }
            TimeLoc::Signed
        } else {
            let (loc, u) = alt.split_once('@').unwrap_or((alt, "s"));
            TimeLoc::At(
                location(loc, false).map_err(|e| bad(TIME, &e))?,
                unit(u).ok_or_else(|| {
                    bad(
                        TIME,
                        "`<location>@<unit>` with unit s, ms or rfc3339, or `timestamp`",
                    )
                })?,
            )
        });
    }

    let body = match get(BODY).unwrap_or("json") {
        "json" => Body::JSON,
        "json+form" => Body::JSON_OR_FORM,
        "any" => Body::ANY,
        _ => return Err(bad(BODY, "json, json+form or any")),
    };

    let unsigned = Unsigned::parse(get(UNSIGNED).unwrap_or("")).map_err(|e| bad(UNSIGNED, &e))?;

    let scheme = Scheme {
        name,
        title: "Custom",
        signature: Signature {
            at,
            format,
            all: false,
        },
        signed,
        algorithm,
        encoding,
        key,
        timestamp,
        id,
        ty: Box::leak(ty.into_boxed_slice()),
        subject,
        time: Box::leak(time.into_boxed_slice()),
        body,
        evidence: Evidence::Configured,
        check_unsigned_json: true,
        ..Scheme::BASE
    };
    scheme.check().map_err(|problem| {
        let var = match problem.split(':').next() {
            Some("signed") => SIGNED,
            Some("timestamp") => TS,
            Some("id") => ID,
            _ => SIG,
        };
        bad(var, &problem)
    })?;
    covered(&scheme, unsigned)?;
    Ok(scheme)
}

/// Whether the signature covers the timestamp, the body and every place an id or type is read
/// from, or `INLET_CUSTOM_UNSIGNED` lets it leave them: otherwise an error naming the setting
/// that reads what is left uncovered. An opt-in for something the signature covers is refused
/// too, as any setting that is not used.
fn covered(scheme: &Scheme, unsigned: Unsigned) -> Result<(), ConfigError> {
    let alg = match scheme.algorithm {
        Algorithm::Token => Some("`token`"),
        Algorithm::Basic => Some("`basic`"),
        Algorithm::Jwt(_) => Some("a `jwt-*` token (a custom one names no body-hash claim)"),
        _ => None,
    };
    let uncovered = |var: &str, what: String| ConfigError::Invalid {
        var: var.into(),
        expected: what,
    };
    let listed_but_signed = |word: &str| ConfigError::Unused {
        var: UNSIGNED.into(),
        reason: format!("it lists `{word}`, which the signature covers"),
    };
    if let Some(t) = scheme.timestamp {
        if let Some(loc) = t.at.iter().find(|l| !scheme.signs(l)) {
            return Err(uncovered(
                TS,
                match alg {
                    Some(alg) => format!("{alg} signs nothing, so a timestamp (`{loc}`) protects nothing: a replay can carry a fresh one. Remove INLET_CUSTOM_TIMESTAMP (INLET_CUSTOM_TIME can still read the event time from `{loc}@<unit>`)"),
                    None => format!("the signature does not cover `{loc}`, so a replay can carry a fresh one: add {{timestamp}} to INLET_CUSTOM_SIGNED (an unsigned timestamp protects nothing, and INLET_CUSTOM_UNSIGNED cannot allow one)"),
                },
            ));
        }
    }
    let body_signed = scheme.signs(&Loc::Digest);
    match (body_signed, unsigned.body) {
        (true, true) => return Err(listed_but_signed("body")),
        (false, false) => {
            return Err(match alg {
                Some(alg) => uncovered(
                    ALG,
                    format!("{alg} proves who sent a request, not what it holds: nothing in the body is signed. Set INLET_CUSTOM_UNSIGNED=body to accept that"),
                ),
                None => uncovered(
                    SIGNED,
                    "the signed content has no {body}, so the body could be changed around what is signed: add {body}, or list `body` in INLET_CUSTOM_UNSIGNED to accept that".into(),
                ),
            })
        }
        _ => {}
    }
    // How the value at `loc` could be signed (`{id}` signs whichever id location is present).
    let how = |loc: &Loc, id: bool| {
        let parts = match loc {
            Loc::Header(h) if id => format!("{{id}} or {{header:{h}}}"),
            Loc::Header(h) => format!("{{header:{h}}}"),
            Loc::Json(p) if id => format!("{{body}}, {{id}} or {{json:{p}}}"),
            Loc::Json(p) => format!("{{body}} or {{json:{p}}}"),
            _ if id => "{id}".into(),
            _ => return "a query parameter cannot be signed".into(),
        };
        match alg {
            Some(alg) => format!("{alg} signs nothing"),
            None => format!("sign it ({parts} in INLET_CUSTOM_SIGNED)"),
        }
    };
    let id_unsigned = scheme
        .id
        .iter()
        .find(|l| !matches!(l, Loc::Digest | Loc::DigestWithout(_)) && !scheme.signs(l));
    match (id_unsigned, unsigned.id) {
        (None, true) => return Err(listed_but_signed("id")),
        (Some(loc), false) => {
            return Err(uncovered(
                ID,
                format!("the signature does not cover `{loc}`, so a caller could choose the id: {}, or list `id` in INLET_CUSTOM_UNSIGNED to accept an unsigned id (1 to 200 letters, digits or -_.:/@+=)", how(loc, true)),
            ))
        }
        _ => {}
    }
    let ty_unsigned = scheme.ty.iter().find_map(|p| match p {
        TypePart::Required(l) | TypePart::Optional(l) if !scheme.signs(l) => Some(l),
        _ => None,
    });
    match (ty_unsigned, unsigned.ty) {
        (None, true) => return Err(listed_but_signed("type")),
        (Some(loc), false) => {
            return Err(uncovered(
                TYPE,
                format!("the signature does not cover `{loc}`, so a caller could choose the type: {}, or list `type` in INLET_CUSTOM_UNSIGNED to accept an unsigned type (each part 1 to 64 letters, digits, `_` or `-`)", how(loc, false)),
            ))
        }
        _ => {}
    }
    Ok(())
}

fn unit(u: &str) -> Option<Unit> {
    match u {
        "s" => Some(Unit::Seconds),
        "ms" => Some(Unit::Millis),
        "rfc3339" => Some(Unit::Rfc3339),
        _ => None,
    }
}

/// `a|b|c` locations.
fn locations(text: &str, kv: bool) -> Result<&'static [Loc], String> {
    let locs = text
        .split('|')
        .map(|l| location(l.trim(), kv))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::leak(locs.into_boxed_slice()))
}

/// One location: `header:<name>`, `json:<path>`, `query:<name>`, `digest`, and `kv:<key>` where allowed.
fn location(text: &str, kv: bool) -> Result<Loc, String> {
    if text == "digest" {
        return Ok(Loc::Digest);
    }
    let expected = || {
        format!(
            "`{text}` is not a location: use header:<name>, json:<path>, query:<name>{}",
            if kv { " or kv:<key>" } else { " or digest" }
        )
    };
    let (kind, what) = text.split_once(':').ok_or_else(expected)?;
    if what.is_empty() {
        return Err(expected());
    }
    match kind {
        "header" => {
            http::HeaderName::from_bytes(what.as_bytes())
                .map_err(|_| format!("`{what}` is not a header name"))?;
            Ok(Loc::Header(leak(&what.to_ascii_lowercase())))
        }
        "json" | "form" => Ok(Loc::Json(leak(what))),
        "query" => Ok(Loc::Query(leak(what))),
        "kv" if kv => Ok(Loc::Kv(leak(what))),
        _ => Err(expected()),
    }
}

/// `{timestamp}.{body}` → parts.
fn template(text: &str) -> Result<&'static [Part], String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}').ok_or("a `{` is not closed")?;
                let name = &rest[1..end];
                parts.push(match name {
                    "body" => Part::Body,
                    "timestamp" => Part::Timestamp,
                    "id" => Part::Id,
                    "url" => Part::Url,
                    "method" => Part::Method,
                    "secret" => Part::Secret,
                    _ => match name.split_once(':') {
                        Some(("header", h)) if !h.is_empty() => {
                            Part::Header(leak(&h.to_ascii_lowercase()))
                        }
                        Some(("json", p)) if !p.is_empty() => Part::Json(leak(p)),
                        _ => {
                            return Err(format!(
                                "`{{{name}}}` is not a part: use body, timestamp, id, url, method, secret, header:<name> or json:<path>"
                            ))
                        }
                    },
                });
                rest = &rest[end + 1..];
            }
            Some(i) => {
                parts.push(Part::Lit(leak(&rest[..i])));
                rest = &rest[i..];
            }
            None => {
                parts.push(Part::Lit(leak(rest)));
                rest = "";
            }
        }
    }
    Ok(Box::leak(parts.into_boxed_slice()))
}

/// The rules of a custom JWT scheme: these algorithms, `iat` within the tolerance (the engine
/// holds `max_age` to the deployment's), `exp` when present; the signed parts are what no claim
/// covers (a custom JWT names no body-hash claim).
const fn custom_jwt(algorithms: &'static [JwtAlg]) -> JwtRules {
    JwtRules {
        algorithms,
        max_age: Some(u64::MAX),
        ..JwtRules::BASE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_and_jwt_algorithms() {
        let with = |alg: &str| {
            let jwt = alg.starts_with("jwt-");
            let mut pairs = vec![
                ("INLET_CUSTOM_SIGNATURE", "header:X-Signature"),
                ("INLET_CUSTOM_ALGORITHM", alg),
            ];
            if jwt {
                pairs.push(("INLET_CUSTOM_UNSIGNED", "body"));
            }
            from_env(&env(&pairs), "x")
        };
        // A custom JWT binds no body: it must be accepted as unsigned, as a token is.
        let err = from_env(
            &env(&[
                ("INLET_CUSTOM_SIGNATURE", "header:X-Signature"),
                ("INLET_CUSTOM_ALGORITHM", "jwt-hs256"),
            ]),
            "x",
        )
        .expect_err("body uncovered");
        assert!(err.to_string().contains("INLET_CUSTOM_UNSIGNED"), "{err}");
        let s = with("rsa-pss-sha256").expect("valid");
        assert_eq!(s.algorithm, Algorithm::Rsa(Padding::Pss, Hash::Sha256));
        assert!(s.algorithm.public_key());
        assert_eq!(
            with("ecdsa-p384").expect("valid").algorithm,
            Algorithm::Ecdsa(Curve::P384, Hash::Sha384)
        );
        let jwt = with("jwt-hs256").expect("valid");
        assert_eq!(jwt.encoding, Encoding::Raw);
        assert!(!jwt.algorithm.public_key());
        assert!(with("jwt-rs256").expect("valid").algorithm.public_key());
        assert!(with("rsa-md5").is_err());
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn the_new_order_example() {
        let s = from_env(
            &env(&[
                ("INLET_CUSTOM_SIGNATURE", "header:X-Signature"),
                ("INLET_CUSTOM_ID", "json:data.order_id"),
                ("INLET_CUSTOM_TYPE", "json:event"),
                ("INLET_CUSTOM_SUBJECT", "json:data.customer_name"),
            ]),
            "orders",
        )
        .expect("valid");
        assert_eq!(s.signature.at, &[Loc::Header("x-signature")]);
        assert_eq!(s.signed, &[Part::Body]);
        assert_eq!(s.algorithm, Algorithm::Hmac(Hash::Sha256));
        assert_eq!(s.id, &[Loc::Json("data.order_id")]);
        assert_eq!(s.ty, &[TypePart::Required(Loc::Json("event"))]);
    }

    #[test]
    fn a_timestamped_scheme() {
        let s = from_env(
            &env(&[
                ("INLET_CUSTOM_SIGNATURE", "header:Sig"),
                ("INLET_CUSTOM_SIGNATURE_FORMAT", "kv:,:v1"),
                ("INLET_CUSTOM_SIGNED", "{timestamp}.{body}"),
                ("INLET_CUSTOM_TIMESTAMP", "kv:t"),
                ("INLET_CUSTOM_TIMESTAMP_UNIT", "ms"),
                ("INLET_CUSTOM_TOLERANCE", "60"),
                ("INLET_CUSTOM_TIME", "timestamp"),
                ("INLET_CUSTOM_TYPE", "order json:kind?"),
            ]),
            "x",
        )
        .expect("valid");
        assert_eq!(s.signed, &[Part::Timestamp, Part::Lit("."), Part::Body]);
        assert_eq!(
            s.timestamp.map(|t| (t.unit, t.tolerance)),
            Some((Unit::Millis, 60))
        );
        assert_eq!(
            s.ty,
            &[
                TypePart::Lit("order"),
                TypePart::Optional(Loc::Json("kind"))
            ]
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let base = [("INLET_CUSTOM_SIGNATURE", "header:X-Signature")];
        let cases: &[(&str, &str, &str)] = &[
            (
                "INLET_CUSTOM_SIGNATURE",
                "x-signature",
                "INLET_CUSTOM_SIGNATURE",
            ),
            ("INLET_CUSTOM_ALGORITHM", "md5", "INLET_CUSTOM_ALGORITHM"),
            ("INLET_CUSTOM_ENCODING", "base32", "INLET_CUSTOM_ENCODING"),
            ("INLET_CUSTOM_KEY", "rot13", "INLET_CUSTOM_KEY"),
            (
                "INLET_CUSTOM_SIGNED",
                "{timestamp}.{body}",
                "INLET_CUSTOM_SIGNED",
            ),
            ("INLET_CUSTOM_SIGNED", "{bogus}", "INLET_CUSTOM_SIGNED"),
            ("INLET_CUSTOM_SIGNED", "{timestamp", "INLET_CUSTOM_SIGNED"),
            (
                "INLET_CUSTOM_SIGNATURE_FORMAT",
                "kv:|:v1",
                "INLET_CUSTOM_SIGNATURE_FORMAT",
            ),
            (
                "INLET_CUSTOM_TIMESTAMP_UNIT",
                "h",
                "INLET_CUSTOM_TIMESTAMP_UNIT",
            ),
            ("INLET_CUSTOM_ID", "body", "INLET_CUSTOM_ID"),
            ("INLET_CUSTOM_TYPE", "json:", "INLET_CUSTOM_TYPE"),
            ("INLET_CUSTOM_TIME", "json:at@hours", "INLET_CUSTOM_TIME"),
            ("INLET_CUSTOM_BODY", "xml", "INLET_CUSTOM_BODY"),
        ];
        for (var, value, named) in cases {
            let mut pairs = base.to_vec();
            if *var == "INLET_CUSTOM_TIMESTAMP_UNIT" {
                pairs.push(("INLET_CUSTOM_TIMESTAMP", "header:ts"));
            }
            pairs.retain(|(k, _)| k != var);
            pairs.push((var, value));
            let err = from_env(&env(&pairs), "x").expect_err(value);
            assert!(err.to_string().contains(named), "{var}={value}: {err}");
        }
        let err = from_env(&env(&[]), "x").expect_err("no signature");
        assert!(err.to_string().contains("INLET_CUSTOM_SIGNATURE"), "{err}");
    }

    /// The error `pairs` (over a signature header) come to, as `(variable, message)`.
    fn refused(pairs: &[(&'static str, &'static str)]) -> (String, String) {
        let mut all = vec![("INLET_CUSTOM_SIGNATURE", "header:X-Signature")];
        all.retain(|(k, _)| !pairs.iter().any(|(p, _)| p == k));
        all.extend_from_slice(pairs);
        let err = from_env(&env(&all), "x").expect_err(&format!("{pairs:?} must be refused"));
        (err.var().to_owned(), err.to_string())
    }

    #[test]
    fn what_the_signature_does_not_cover_is_refused_naming_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            // A 30-day-old signature with a fresh timestamp header verified.
            (&[("INLET_CUSTOM_TIMESTAMP", "header:X-Timestamp")], TS),
            (
                &[
                    ("INLET_CUSTOM_SIGNATURE", "header:Sig"),
                    ("INLET_CUSTOM_SIGNATURE_FORMAT", "kv:,:v1"),
                    ("INLET_CUSTOM_TIMESTAMP", "kv:t"),
                ],
                TS,
            ),
            // A body changed around the signed id verified.
            (
                &[
                    ("INLET_CUSTOM_SIGNED", "{json:id}"),
                    ("INLET_CUSTOM_ID", "json:id"),
                ],
                SIGNED,
            ),
            (
                &[
                    ("INLET_CUSTOM_SIGNED", "{timestamp}"),
                    ("INLET_CUSTOM_TIMESTAMP", "header:ts"),
                ],
                SIGNED,
            ),
            (&[("INLET_CUSTOM_TYPE", "query:event")], TYPE),
            (&[("INLET_CUSTOM_TYPE", "order header:X-Event?")], TYPE),
            (&[("INLET_CUSTOM_ID", "query:id")], ID),
            (&[("INLET_CUSTOM_ID", "header:X-Id|digest")], ID),
            // Token and basic credentials sign nothing.
            (&[("INLET_CUSTOM_ALGORITHM", "token")], ALG),
            (&[("INLET_CUSTOM_ALGORITHM", "basic")], ALG),
            (
                &[
                    ("INLET_CUSTOM_ALGORITHM", "token"),
                    ("INLET_CUSTOM_UNSIGNED", "body"),
                    ("INLET_CUSTOM_TIMESTAMP", "header:X-Timestamp"),
                ],
                TS,
            ),
            (
                &[
                    ("INLET_CUSTOM_ALGORITHM", "token"),
                    ("INLET_CUSTOM_UNSIGNED", "body"),
                    ("INLET_CUSTOM_TYPE", "json:event"),
                ],
                TYPE,
            ),
            (
                &[
                    ("INLET_CUSTOM_SIGNED", "{json:id}"),
                    ("INLET_CUSTOM_ID", "json:id"),
                    ("INLET_CUSTOM_UNSIGNED", "body"),
                    ("INLET_CUSTOM_TYPE", "json:event"),
                ],
                TYPE,
            ),
            // An unsigned timestamp is never allowed; an opt-in for what is signed is unused.
            (
                &[
                    ("INLET_CUSTOM_TIMESTAMP", "header:X-Timestamp"),
                    ("INLET_CUSTOM_UNSIGNED", "timestamp"),
                ],
                UNSIGNED,
            ),
            (&[("INLET_CUSTOM_UNSIGNED", "body")], UNSIGNED),
            (&[("INLET_CUSTOM_UNSIGNED", "id")], UNSIGNED),
            (
                &[
                    ("INLET_CUSTOM_TYPE", "json:event"),
                    ("INLET_CUSTOM_UNSIGNED", "type"),
                ],
                UNSIGNED,
            ),
            (&[("INLET_CUSTOM_UNSIGNED", "subject")], UNSIGNED),
        ];
        for (pairs, named) in cases {
            let (var, message) = refused(pairs);
            assert_eq!(&var, named, "{pairs:?}: {message}");
        }
        let (_, message) = refused(&[("INLET_CUSTOM_TIMESTAMP", "header:X-Timestamp")]);
        assert!(message.contains("{timestamp}"), "{message}");
        let (_, message) = refused(&[("INLET_CUSTOM_TYPE", "query:event")]);
        assert!(message.contains("INLET_CUSTOM_UNSIGNED"), "{message}");
    }

    #[test]
    fn what_the_signature_covers_needs_no_opt_in() {
        let signs = |pairs: &[(&str, &str)]| {
            let mut all = vec![("INLET_CUSTOM_SIGNATURE", "header:X-Signature")];
            all.extend_from_slice(pairs);
            from_env(&env(&all), "x").unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
        };
        signs(&[
            ("INLET_CUSTOM_SIGNED", "{timestamp}.{body}"),
            ("INLET_CUSTOM_TIMESTAMP", "header:X-Timestamp"),
        ]);
        signs(&[
            ("INLET_CUSTOM_SIGNED", "{header:X-Timestamp}.{body}"),
            ("INLET_CUSTOM_TIMESTAMP", "header:x-timestamp"),
        ]);
        signs(&[
            ("INLET_CUSTOM_SIGNED", "{id}.{body}"),
            ("INLET_CUSTOM_ID", "query:id|header:X-Id"),
        ]);
        signs(&[
            ("INLET_CUSTOM_SIGNED", "{header:X-Event}{body}"),
            ("INLET_CUSTOM_TYPE", "header:X-Event json:action?"),
        ]);
        // The opt-in: what it lists may be unsigned, and is checked when it is.
        let s = signs(&[
            ("INLET_CUSTOM_SIGNED", "{json:id}"),
            ("INLET_CUSTOM_ID", "json:id"),
            ("INLET_CUSTOM_TYPE", "json:event query:action?"),
            ("INLET_CUSTOM_UNSIGNED", "body, type"),
        ]);
        assert!(s.check_unsigned_json);
        assert!(s.signs(&Loc::Json("id")) && !s.signs(&Loc::Json("event")));
        let s = signs(&[
            ("INLET_CUSTOM_ALGORITHM", "token"),
            ("INLET_CUSTOM_SIGNATURE", "header:X-Token"),
            ("INLET_CUSTOM_ID", "header:X-Id"),
            ("INLET_CUSTOM_TYPE", "json:event"),
            ("INLET_CUSTOM_UNSIGNED", "body,id,type"),
        ]);
        assert_eq!((s.signed, s.encoding), (&[][..], Encoding::Raw));
    }

    #[test]
    fn settings_the_scheme_does_not_use_are_refused() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("INLET_CUSTOM_TOLERANCE", "60")], TOL),
            (&[("INLET_CUSTOM_TIMESTAMP_UNIT", "ms")], UNIT),
            (&[("INLET_CUSTOM_TIME", "timestamp")], TIME),
            (
                &[
                    ("INLET_CUSTOM_ALGORITHM", "token"),
                    ("INLET_CUSTOM_SIGNED", "{body}"),
                    ("INLET_CUSTOM_UNSIGNED", "body"),
                ],
                SIGNED,
            ),
            (
                &[
                    ("INLET_CUSTOM_ALGORITHM", "basic"),
                    ("INLET_CUSTOM_ENCODING", "raw"),
                    ("INLET_CUSTOM_UNSIGNED", "body"),
                ],
                ENC,
            ),
        ];
        for (pairs, named) in cases {
            let (var, message) = refused(pairs);
            assert_eq!(&var, named, "{pairs:?}: {message}");
        }
        // The source's entry giving the window twice; a deployment-wide one overrides it.
        let timestamped = r#"{"x": {"INLET_CUSTOM_SIGNATURE": "header:Sig", "INLET_CUSTOM_SIGNED": "{timestamp}.{body}",
            "INLET_CUSTOM_TIMESTAMP": "header:Ts", "INLET_CUSTOM_TOLERANCE": "60""#;
        let entry = format!(r#"{timestamped}, "WEBHOOK_TOLERANCE_SECONDS": "600"}}}}"#);
        let both = Env::from_pairs([(crate::config::SOURCE_SETTINGS, entry.as_str())])
            .with_source_settings("x")
            .expect("the entry");
        assert_eq!(from_env(&both, "x").expect_err("twice").var(), TOL);
        let wide = format!("{timestamped}}}}}");
        let wide = Env::from_pairs([
            (crate::config::SOURCE_SETTINGS, wide.as_str()),
            (crate::config::TOLERANCE, "600"),
        ])
        .with_source_settings("x")
        .expect("the entry");
        from_env(&wide, "x").expect("a deployment-wide window");
    }

    #[test]
    fn basic_reads_a_real_authorization_header_by_default() {
        let s = from_env(
            &env(&[
                ("INLET_CUSTOM_ALGORITHM", "basic"),
                ("INLET_CUSTOM_UNSIGNED", "body"),
            ]),
            "x",
        )
        .expect("valid");
        assert_eq!(s.signature.at, &[Loc::Header("authorization")]);
        assert_eq!(s.signature.format, Format::Prefix("Basic "));
        assert_eq!(s.encoding, Encoding::Base64);
        let s: &'static Scheme = Box::leak(Box::new(s));
        let key: &[&[u8]] = &[b"acme:pa:ss"];
        // base64.b64encode(b"acme:pa:ss") in Python.
        for value in [
            "Basic YWNtZTpwYTpzcw==",
            "basic YWNtZTpwYTpzcw==",
            "BASIC  YWNtZTpwYTpzcw",
        ] {
            crate::tests::check(s, key, &[("authorization", value)], b"{}", 0)
                .unwrap_or_else(|e| panic!("{value}: {e}"));
        }
        for value in [
            "Basic YWNtZTpwYTpzcg==",
            "YWNtZTpwYTpzcw==",
            "Bearer YWNtZTpwYTpzcw==",
            "BasicYWNtZTpwYTpzcw==",
        ] {
            crate::tests::check(s, key, &[("authorization", value)], b"{}", 0).expect_err(value);
        }
        let signed =
            crate::core::verify::engine::sign(s, b"acme:pa:ss", &crate::tests::posted(b"{}"))
                .expect("signs");
        assert_eq!(
            signed,
            [(
                "authorization".to_owned(),
                "Basic YWNtZTpwYTpzcw==".to_owned()
            )]
        );
    }

    #[test]
    fn unsigned_ids_and_types_from_the_body_are_checked() {
        use crate::tests::{deliver, Request};
        let s = from_env(
            &env(&[
                ("INLET_CUSTOM_ALGORITHM", "token"),
                ("INLET_CUSTOM_SIGNATURE", "header:X-Token"),
                ("INLET_CUSTOM_ID", "json:id"),
                ("INLET_CUSTOM_TYPE", "json:event"),
                ("INLET_CUSTOM_UNSIGNED", "body,id,type"),
            ]),
            "acme",
        )
        .expect("valid");
        let source = || crate::catalogue::sources::Source::new("acme", Box::leak(Box::new(s)));
        let post = |body: &str| {
            deliver(
                source(),
                "tok",
                Request::post(
                    &[("content-type", "application/json"), ("x-token", "tok")],
                    body.as_bytes(),
                    1_700_000_000,
                ),
            )
        };
        let ok = post(r#"{"id":"ord_1","event":"payment_succeeded"}"#);
        assert_eq!(ok.reply.status, 202, "{}", ok.text());
        assert_eq!(ok.envelopes[0]["type"], "acme.payment_succeeded");
        let long = "a".repeat(906);
        for body in [
            r#"{"id":"ord_1","event":"payment succeeded/../<b>admin</b>"}"#.to_owned(),
            r#"{"id":"ord_1","event":"payment.refunded"}"#.to_owned(),
            format!(r#"{{"id":"{long}","event":"payment_succeeded"}}"#),
            r#"{"id":"ord 1","event":"payment_succeeded"}"#.to_owned(),
        ] {
            let d = post(&body);
            assert_eq!(d.reply.status, 400, "{body}: {}", d.text());
            assert!(d.envelopes.is_empty());
        }
    }
}
