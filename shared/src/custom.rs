//! The custom scheme: a sender that is not in the catalogue (a company's own apps), described
//! entirely by `INLET_CUSTOM_*` settings at deploy time and built into the same [`Scheme`] the
//! catalogue uses. A setting that cannot be read stops the function at start-up, naming it.
//!
//! | Setting | Values (default) |
//! |---|---|
//! | `INLET_CUSTOM_SIGNATURE` | where: `header:<name>`, `json:<path>` or `query:<name>`; alternatives with `\|` (required) |
//! | `INLET_CUSTOM_SIGNATURE_FORMAT` | `plain`, `prefix:<p>`, `kv:<sep>:<key>`, `versioned:<v>`, `list:<prefix>` (`plain`) |
//! | `INLET_CUSTOM_SIGNED` | template of `{body}` `{timestamp}` `{id}` `{header:<n>}` `{json:<p>}` `{url}` `{method}` `{secret}` and literal text (`{body}`) |
//! | `INLET_CUSTOM_ALGORITHM` | `hmac-sha256`, `hmac-sha1`, `hmac-sha512`, `sha256`, `sha1`, `sha512`, `ed25519`, `ecdsa-p256`, `token`, `basic` (`hmac-sha256`) |
//! | `INLET_CUSTOM_ENCODING` | `hex`, `base64`, `base64url`, `raw` (`hex`) |
//! | `INLET_CUSTOM_KEY` | `utf8`, `base64`, `hex`, `whsec` (`utf8`) |
//! | `INLET_CUSTOM_TIMESTAMP` | `header:<name>`, `kv:<key>` or `json:<path>` (none) |
//! | `INLET_CUSTOM_TIMESTAMP_UNIT` | `s`, `ms`, `rfc3339` (`s`) |
//! | `INLET_CUSTOM_TOLERANCE` | seconds either side of now (300) |
//! | `INLET_CUSTOM_ID` | `header:<n>`, `json:<p>`, `digest`, alternatives with `\|` (`digest`) |
//! | `INLET_CUSTOM_TYPE` | space-separated parts `json:<p>`, `header:<n>`, a word; `?` after a part makes it optional (none) |
//! | `INLET_CUSTOM_SUBJECT` | locations with `\|` (none) |
//! | `INLET_CUSTOM_TIME` | `timestamp` or `<location>@<unit>`, alternatives with `\|` (none) |
//! | `INLET_CUSTOM_BODY` | `json`, `json+form`, `any` (`json`) |

use crate::config::{ConfigError, Env};
use crate::scheme::{
    Algorithm, Body, Encoding, Evidence, Format, Hash, KeyDecoding, Loc, Part, Scheme, Signature,
    TimeLoc, Timestamp, TypePart, Unit,
};
use crate::sources::leak;

/// The custom scheme the environment describes, for the source `name`.
pub fn from_env(env: &Env, name: &'static str) -> Result<Scheme, ConfigError> {
    let get = |var: &str| env.get(var).map(str::trim).filter(|v| !v.is_empty());
    let bad = |var: &str, expected: &str| ConfigError::Invalid {
        var: var.into(),
        expected: expected.into(),
    };

    const SIG: &str = "INLET_CUSTOM_SIGNATURE";
    let signature_at = get(SIG).ok_or_else(|| ConfigError::Missing {
        var: SIG.into(),
        expected: "where the signature is, e.g. `header:X-Signature`".into(),
    })?;
    let at = locations(signature_at, false).map_err(|e| bad(SIG, &e))?;

    const FORMAT: &str = "INLET_CUSTOM_SIGNATURE_FORMAT";
    let format = match get(FORMAT).unwrap_or("plain") {
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

    const SIGNED: &str = "INLET_CUSTOM_SIGNED";
    let signed = template(get(SIGNED).unwrap_or("{body}")).map_err(|e| bad(SIGNED, &e))?;

    const ALG: &str = "INLET_CUSTOM_ALGORITHM";
    let algorithm = match get(ALG).unwrap_or("hmac-sha256") {
        "hmac-sha256" => Algorithm::Hmac(Hash::Sha256),
        "hmac-sha1" => Algorithm::Hmac(Hash::Sha1),
        "hmac-sha512" => Algorithm::Hmac(Hash::Sha512),
        "sha256" => Algorithm::Digest(Hash::Sha256),
        "sha1" => Algorithm::Digest(Hash::Sha1),
        "sha512" => Algorithm::Digest(Hash::Sha512),
        "ed25519" => Algorithm::Ed25519,
        "ecdsa-p256" => Algorithm::EcdsaP256,
        "token" => Algorithm::Token,
        "basic" => Algorithm::Basic,
        _ => return Err(bad(ALG, "one of hmac-sha256, hmac-sha1, hmac-sha512, sha256, sha1, sha512, ed25519, ecdsa-p256, token, basic")),
    };

    const ENC: &str = "INLET_CUSTOM_ENCODING";
    let default_encoding = match algorithm {
        Algorithm::Token | Algorithm::Basic => "raw",
        _ => "hex",
    };
    let encoding = match get(ENC).unwrap_or(default_encoding) {
        "hex" => Encoding::Hex,
        "base64" => Encoding::Base64,
        "base64url" => Encoding::Base64Url,
        "raw" => Encoding::Raw,
        _ => return Err(bad(ENC, "one of hex, base64, base64url, raw")),
    };

    const KEY: &str = "INLET_CUSTOM_KEY";
    let key = match get(KEY).unwrap_or("utf8") {
        "utf8" => KeyDecoding::Utf8,
        "base64" => KeyDecoding::Base64,
        "hex" => KeyDecoding::Hex,
        "whsec" => KeyDecoding::Whsec,
        _ => return Err(bad(KEY, "one of utf8, base64, hex, whsec")),
    };

    const TS: &str = "INLET_CUSTOM_TIMESTAMP";
    const UNIT: &str = "INLET_CUSTOM_TIMESTAMP_UNIT";
    const TOL: &str = "INLET_CUSTOM_TOLERANCE";
    let timestamp = match get(TS) {
        None => None,
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

    const ID: &str = "INLET_CUSTOM_ID";
    let id = locations(get(ID).unwrap_or("digest"), false).map_err(|e| bad(ID, &e))?;

    const TYPE: &str = "INLET_CUSTOM_TYPE";
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

    const SUBJECT: &str = "INLET_CUSTOM_SUBJECT";
    let subject = match get(SUBJECT) {
        None => &[][..],
        Some(s) => locations(s, false).map_err(|e| bad(SUBJECT, &e))?,
    };

    const TIME: &str = "INLET_CUSTOM_TIME";
    let mut time = Vec::new();
    for alt in get(TIME)
        .unwrap_or("")
        .split('|')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        time.push(if alt == "timestamp" {
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

    const BODY: &str = "INLET_CUSTOM_BODY";
    let body = match get(BODY).unwrap_or("json") {
        "json" => Body::JSON,
        "json+form" => Body::JSON_OR_FORM,
        "any" => Body::ANY,
        _ => return Err(bad(BODY, "json, json+form or any")),
    };

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
    Ok(scheme)
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
    if !parts.contains(&Part::Body) && !parts.iter().any(|p| matches!(p, Part::Json(_))) {
        return Err("the signed content must include {body} (or a {json:…} part)".into());
    }
    Ok(Box::leak(parts.into_boxed_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
