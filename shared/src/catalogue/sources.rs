//! A deployed source: a name (its route, the envelope's `source`, the type prefix) and the scheme
//! its sender uses, a catalogue entry or the custom scheme, plus the little configuration some
//! schemes need (the public URL, Meta's verify token, a different timestamp window).
//!
//! One build serves every source: the function reads `INLET_SOURCE` (the name) and
//! `INLET_SCHEME` (the catalogue sender, when the name is not one) at start-up.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use crate::catalogue::custom::leak;
use crate::config::{ConfigError, Env};
pub use crate::config::{INLET_SCHEME, INLET_SOURCE, PUBLIC_URL, VERIFY_TOKEN};
use crate::core::handshake::{self, Context};
use crate::core::normalize::{self, Disposition, NormalizeError};
use crate::core::response::{Rejection, Reply};
use crate::core::scheme::{Loc, Part, Scheme, TypePart};
use crate::core::verify::engine::{self, Signing};
use crate::core::verify::{Clock, SecretSet, Unverified, Verified, VerifyError};

/// One deployed source.
#[derive(Debug, Clone)]
pub struct Source {
    name: &'static str,
    scheme: &'static Scheme,
    public_url: Option<String>,
    verify_token: Option<String>,
}

/// Every catalogue sender as a source of its own name (the local server, the CLI, tests).
static NAMED: LazyLock<Vec<Source>> = LazyLock::new(|| {
    crate::catalogue::senders::CATALOGUE
        .iter()
        .map(|scheme| Source::new(scheme.name, scheme))
        .collect()
});

/// Every catalogue sender as a source of its own name.
pub fn all() -> &'static [Source] {
    &NAMED
}

/// The catalogue sender `name`, as a source of that name.
pub fn by_name(name: &str) -> Option<&'static Source> {
    NAMED.iter().find(|s| s.name == name)
}

impl Source {
    /// A source named `name` whose sender uses `scheme`.
    pub fn new(name: &'static str, scheme: &'static Scheme) -> Self {
        Self {
            name,
            scheme,
            public_url: None,
            verify_token: None,
        }
    }

    /// The source the environment describes: `INLET_SOURCE` (or `default_name`, for the
    /// binaries named after one sender), `INLET_SCHEME`, `PUBLIC_URL`, `VERIFY_TOKEN`, and for
    /// the custom scheme the `INLET_CUSTOM_*` settings. Built once at start-up. An `INLET_*`
    /// variable Inlet does not read, or a setting this source does not use ([`unused`]), is an
    /// error naming it.
    pub fn from_env(env: &Env, default_name: Option<&str>) -> Result<&'static Source, ConfigError> {
        crate::config::unknown_variables(env)?;
        let name = name_in(env, default_name).ok_or_else(|| ConfigError::Missing {
            var: INLET_SOURCE.into(),
            expected: "the source's name, e.g. `github` or `shop-eu` (see `inlet sources`)".into(),
        })?;
        if !valid_name(name) {
            return Err(ConfigError::Invalid {
                var: INLET_SOURCE.into(),
                expected: "1 to 64 lower-case letters, digits and `-`".into(),
            });
        }
        let scheme_name = env
            .get(INLET_SCHEME)
            .filter(|n| !n.is_empty())
            .unwrap_or(name);
        let custom = scheme_name == "custom";
        let scheme: &'static Scheme = if custom {
            Box::leak(Box::new(crate::catalogue::custom::from_env(
                env,
                leak(name),
            )?))
        } else {
            crate::catalogue::senders::scheme(scheme_name).ok_or_else(|| ConfigError::Invalid {
                var: if env.get(INLET_SCHEME).is_some_and(|s| !s.is_empty()) {
                    INLET_SCHEME.into()
                } else {
                    INLET_SOURCE.into()
                },
                expected: format!(
                    "a sender in the catalogue (`inlet sources`) or `custom`; `{scheme_name}` is neither"
                ),
            })?
        };
        let public_url = env
            .get(PUBLIC_URL)
            .filter(|u| !u.is_empty())
            .map(|u| {
                if u.starts_with("https://") || u.starts_with("http://") {
                    Ok(u.to_owned())
                } else {
                    Err(ConfigError::Invalid {
                        var: PUBLIC_URL.into(),
                        expected: "the full URL the sender posts to, starting with https://".into(),
                    })
                }
            })
            .transpose()?;
        let source = Source {
            name: leak(name),
            scheme,
            public_url,
            verify_token: env
                .get(VERIFY_TOKEN)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        };
        if scheme
            .handshakes
            .contains(&crate::core::scheme::Handshake::MetaSubscribe)
            && source.verify_token.is_none()
        {
            return Err(ConfigError::Missing {
                var: VERIFY_TOKEN.into(),
                expected: format!(
                    "the verify token you gave {} for its subscription handshake",
                    scheme.title
                ),
            });
        }
        unused(env, &source, custom)?;
        Ok(Box::leak(Box::new(source)))
    }

    /// With `url` as the public URL (tests and the local server).
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.to_owned());
        self
    }

    /// With Meta's verify token.
    pub fn with_verify_token(mut self, token: &str) -> Self {
        self.verify_token = Some(token.to_owned());
        self
    }

    /// The route (`/webhooks/<name>`), the envelope's `source` and the type prefix.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn scheme(&self) -> &'static Scheme {
        self.scheme
    }

    /// The configured public URL, if any.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// Whether the scheme signs the URL the request was sent to.
    pub fn signs_url(&self) -> bool {
        self.scheme.signed.contains(&Part::Url) || self.scheme.custom.is_some_and(|c| c.signs_url())
    }

    /// Turns a configured secret into the key the scheme uses. The value that makes a source
    /// await its handshake ([`crate::core::handshake::AWAIT_HANDSHAKE`]) is never a key: it is public.
    pub fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, String> {
        if secret.trim() == crate::core::handshake::AWAIT_HANDSHAKE {
            return Err(format!(
                "{} is not a secret: only a Secrets Manager secret (WEBHOOK_SECRET_ARN), or the local server's, can await a handshake",
                crate::core::handshake::AWAIT_HANDSHAKE
            ));
        }
        engine::decode_secret(self.scheme, secret)
    }

    /// The window the sender's own SDK enforces (300 s for schemes without a timestamp).
    pub fn default_tolerance(&self) -> Duration {
        Duration::from_secs(self.scheme.timestamp.map_or(300, |t| t.tolerance))
    }

    /// The methods this source answers.
    pub fn methods(&self) -> Vec<http::Method> {
        self.scheme.methods()
    }

    pub fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError> {
        engine::verify(self.scheme, secrets, req, clock)
    }

    /// The answer to an unsigned handshake, if `req` is one.
    pub fn handshake(
        &self,
        req: &Unverified<'_>,
        secrets: &SecretSet,
    ) -> Option<Result<Reply, Rejection>> {
        let ctx = Context {
            verify_token: self.verify_token.as_deref(),
            secrets,
        };
        handshake::before_verification(self.scheme, req, &ctx)
    }

    /// The envelope to enqueue, or a reply to send directly (signed handshakes).
    pub fn normalize<'b>(
        &self,
        verified: &Verified<'b>,
        received: SystemTime,
    ) -> Result<Disposition<'b>, NormalizeError> {
        normalize::engine::normalize(self.name, self.scheme, verified, received)
    }

    /// The headers the sender adds to sign a request.
    pub fn sign(&self, key: &[u8], s: &Signing<'_>) -> Result<Vec<(String, String)>, String> {
        engine::sign(self.scheme, key, s)
    }

    /// The header that carries the delivery id, for senders that send one (logged on
    /// rejections, before the body is trusted).
    pub fn delivery_header(&self) -> Option<&'static str> {
        self.scheme.id.iter().find_map(|l| match l {
            Loc::Header(h) => Some(*h),
            _ => None,
        })
    }

    /// The header that carries the event name, for senders that send one (GitHub's
    /// `X-GitHub-Event`); the CLI sets it from `--event`.
    pub fn event_header(&self) -> Option<&'static str> {
        self.scheme.ty.iter().find_map(|p| match p {
            TypePart::Required(Loc::Header(h)) | TypePart::Optional(Loc::Header(h)) => Some(*h),
            _ => None,
        })
    }
}

/// A setting the environment gives that `source` does not use, as an error naming it: such a
/// setting would otherwise be ignored without a word (a replay window for a sender that signs
/// no timestamp, a custom setting beside a catalogue sender). `WEBHOOK_TOLERANCE_SECONDS` is
/// refused only when the source's own entry in `INLET_SOURCE_SETTINGS` sets it: the template
/// gives every function the deployment's one value, which senders without a timestamp ignore.
fn unused(env: &Env, source: &Source, custom: bool) -> Result<(), ConfigError> {
    let scheme = source.scheme;
    let (name, title) = (source.name, scheme.title);
    let unused = |var: &str, reason: String| {
        Err(ConfigError::Unused {
            var: var.into(),
            reason,
        })
    };
    if !custom {
        if let Some((var, _)) = env
            .vars()
            .find(|(k, v)| k.starts_with("INLET_CUSTOM_") && !v.trim().is_empty())
        {
            return unused(
                var,
                format!("`{name}` is the catalogue's {title} sender; INLET_CUSTOM_* settings describe a sender only with INLET_SCHEME=custom"),
            );
        }
    }
    if env.given(PUBLIC_URL).is_some() && !source.signs_url() {
        return unused(
            PUBLIC_URL,
            format!("`{name}` ({title}) does not sign the URL it posts to"),
        );
    }
    if env.given(VERIFY_TOKEN).is_some()
        && !scheme
            .handshakes
            .contains(&crate::core::scheme::Handshake::MetaSubscribe)
    {
        return unused(
            VERIFY_TOKEN,
            format!("`{name}` ({title}) makes no subscription handshake with a verify token"),
        );
    }
    if env.from_entry(crate::config::TOLERANCE) && scheme.timestamp.is_none() {
        return unused(
            crate::config::TOLERANCE,
            format!("`{name}` ({title}) signs no timestamp, so it has no replay window; its entry in INLET_SOURCE_SETTINGS sets one (a deployment-wide value is fine)"),
        );
    }
    Ok(())
}

/// Lower-case letters, digits and `-`, 1 to 64 long.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A string that lives as long as the process (configuration read once at start-up).
/// The source's name the environment gives (`INLET_SOURCE`), else `default_name` (the binaries
/// named after one sender).
pub fn name_in<'e>(env: &'e Env, default_name: Option<&'e str>) -> Option<&'e str> {
    env.get(INLET_SOURCE)
        .filter(|n| !n.is_empty())
        .or(default_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SOURCE_SETTINGS, TOLERANCE};

    /// Variables of a function's own environment.
    type Process = &'static [(&'static str, &'static str)];

    /// The source `name` as a function of a deployment with `settings` and `process` builds it.
    fn built(
        name: &str,
        settings: &str,
        process: &[(&str, &str)],
    ) -> Result<&'static Source, ConfigError> {
        let mut pairs = vec![(INLET_SOURCE, name), (SOURCE_SETTINGS, settings)];
        pairs.extend_from_slice(process);
        Source::from_env(&Env::from_pairs(pairs).with_source_settings(name)?, None)
    }

    #[test]
    fn settings_a_source_does_not_use_stop_it_naming_them() {
        let cases: &[(&str, &str, Process, &str)] = &[
            // A tolerance in the entry of a sender that signs no timestamp.
            (
                "github",
                r#"{"github": {"WEBHOOK_TOLERANCE_SECONDS": "60"}}"#,
                &[],
                TOLERANCE,
            ),
            // Custom settings beside a catalogue scheme.
            (
                "billing",
                r#"{"billing": {"INLET_SCHEME": "standard", "INLET_CUSTOM_TIMESTAMP": "header:ts"}}"#,
                &[],
                "INLET_CUSTOM_TIMESTAMP",
            ),
            (
                "stripe",
                "",
                &[("INLET_CUSTOM_SIGNATURE", "header:x")],
                "INLET_CUSTOM_SIGNATURE",
            ),
            (
                "github",
                r#"{"github": {"PUBLIC_URL": "https://h.example/w"}}"#,
                &[],
                PUBLIC_URL,
            ),
            ("stripe", "", &[(VERIFY_TOKEN, "t")], VERIFY_TOKEN),
            (
                "github",
                r#"{"github": {"VERIFY_TOKEN": "t"}}"#,
                &[],
                VERIFY_TOKEN,
            ),
            // A typo, in the entry or the environment.
            (
                "acme",
                r#"{"acme": {"INLET_SCHEME": "custom", "INLET_CUSTOM_SIGNATURE": "header:X-Signature",
                   "INLET_CUSTOM_SIGNED": "{timestamp}.{body}", "INLET_CUSTOM_TIMESTAMPS": "header:ts"}}"#,
                &[],
                "INLET_CUSTOM_TIMESTAMPS",
            ),
            (
                "github",
                "",
                &[("INLET_TLS_ROOT", "system")],
                "INLET_TLS_ROOT",
            ),
        ];
        for (name, settings, process, named) in cases {
            let err = built(name, settings, process).expect_err(settings);
            assert_eq!(err.var(), *named, "{name} {settings} {process:?}: {err}");
        }
    }

    #[test]
    fn what_a_source_uses_and_deployment_wide_values_start() {
        let cases: &[(&str, &str, Process)] = &[
            // The template gives every function the deployment's one window.
            ("github", "", &[(TOLERANCE, "60")]),
            (
                "stripe",
                r#"{"stripe": {"WEBHOOK_TOLERANCE_SECONDS": "60"}}"#,
                &[],
            ),
            (
                "twilio",
                r#"{"twilio": {"PUBLIC_URL": "https://h.example/w"}}"#,
                &[],
            ),
            ("meta", r#"{"meta": {"VERIFY_TOKEN": "t"}}"#, &[]),
            ("github", "", &[("INLET_CUSTOM_SIGNATURE", "")]),
            (
                "github",
                "",
                &[
                    (crate::config::METRICS_NAMESPACE, "Inlet"),
                    (crate::config::INLET_TLS_ROOTS, "amazon"),
                ],
            ),
            (
                "acme",
                r#"{"acme": {"INLET_SCHEME": "custom", "INLET_CUSTOM_SIGNATURE": "header:X-Signature",
                   "INLET_CUSTOM_SIGNED": "{timestamp}.{body}", "INLET_CUSTOM_TIMESTAMP": "header:ts",
                   "WEBHOOK_TOLERANCE_SECONDS": "60"}}"#,
                &[],
            ),
        ];
        for (name, settings, process) in cases {
            built(name, settings, process)
                .unwrap_or_else(|e| panic!("{name} {settings} {process:?}: {e}"));
        }
    }
}
