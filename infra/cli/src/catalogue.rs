//! `inlet sources [<name>] [--scheme S] [--verified-by K]`: which senders a listing shows. With
//! 130 senders the whole table is a page of scrolling; a user looking for one sender, for every
//! Ed25519 sender or for what our SDK oracles cover narrows it here.

use inlet::core::scheme::{Evidence, Scheme};

/// What the listing is narrowed to; the default shows every sender.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Part of a sender's name or title (`stripe`, `hub`, `Microsoft`), any case.
    pub name: Option<String>,
    /// Part of its scheme as the listing prints it: the algorithm (`ed25519`, `hmac-sha1`,
    /// `rsa`, `token`) or where the signature is (`x-hub-signature`), any case.
    pub scheme: Option<String>,
    /// How our tests know the scheme is the sender's.
    pub verified_by: Option<VerifiedBy>,
}

/// The kinds of evidence `--verified-by` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifiedBy {
    /// The sender's own SDK checks what we sign and signs what we check.
    Sdk,
    /// Vectors the sender publishes.
    Vectors,
    /// Vectors derived from its docs, cross-checked with an independent implementation.
    Docs,
    /// The custom scheme: whatever the settings say.
    Configured,
}

impl VerifiedBy {
    pub const NAMES: &'static str = "sdk, vectors, docs, configured";

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "sdk" => Ok(Self::Sdk),
            "vectors" => Ok(Self::Vectors),
            "docs" => Ok(Self::Docs),
            "configured" => Ok(Self::Configured),
            _ => Err(format!(
                "--verified-by takes one of {}, got {raw:?}",
                Self::NAMES
            )),
        }
    }

    fn of(evidence: Evidence) -> Self {
        match evidence {
            Evidence::Sdk(_) => Self::Sdk,
            Evidence::SdkPending(_) | Evidence::Vectors => Self::Vectors,
            Evidence::Docs(_) => Self::Docs,
            Evidence::Configured => Self::Configured,
        }
    }
}

/// `needle` in `hay`, ignoring case.
fn contains(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

impl Filter {
    /// Whether the listing shows `s`.
    pub fn shows(&self, s: &Scheme) -> bool {
        let name = self
            .name
            .as_deref()
            .is_none_or(|n| contains(s.name, n) || contains(s.title, n));
        let scheme = self.scheme.as_deref().is_none_or(|want| {
            contains(inlet::core::verify::algorithm_label(s.algorithm), want)
                || s.signature
                    .at
                    .iter()
                    .any(|l| contains(inlet::core::verify::engine::label(l), want))
        });
        let evidence = self
            .verified_by
            .is_none_or(|k| k == VerifiedBy::of(s.evidence));
        name && scheme && evidence
    }

    /// Whether the listing shows the custom scheme's row: it has no name of its own, but answers
    /// to `custom` and to `--verified-by configured`.
    pub fn shows_custom(&self) -> bool {
        self.name.as_deref().is_none_or(|n| contains("custom", n))
            && self.scheme.as_deref().is_none_or(|s| contains("custom", s))
            && self.verified_by.is_none_or(|k| k == VerifiedBy::Configured)
    }

    /// The senders shown, in the catalogue's order; an error naming the closest sender when a
    /// name matches none (a listing that prints nothing looks like a broken command).
    pub fn apply<'a>(&self, all: &'a [inlet::Source]) -> Result<Vec<&'a inlet::Source>, String> {
        let shown: Vec<&inlet::Source> = all.iter().filter(|s| self.shows(s.scheme())).collect();
        if shown.is_empty() && !self.shows_custom() {
            // A name that matches a sender the other filters leave out needs no correcting.
            let by_name = Filter {
                name: self.name.clone(),
                ..Filter::default()
            };
            let hint = self
                .name
                .as_deref()
                .filter(|_| !all.iter().any(|s| by_name.shows(s.scheme())))
                .and_then(|n| inlet::config::closest(n, all.iter().map(|s| s.name())))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(format!("no sender matches{hint}"));
        }
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(filter: &Filter) -> Vec<&'static str> {
        filter
            .apply(inlet::catalogue::sources::all())
            .map(|v| v.iter().map(|s| s.name()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn no_filter_shows_every_sender() {
        let all = inlet::catalogue::sources::all();
        assert_eq!(names(&Filter::default()).len(), all.len());
    }

    #[test]
    fn a_name_matches_part_of_a_name_or_title_in_any_case() {
        let f = Filter {
            name: Some("STRIPE".into()),
            ..Filter::default()
        };
        assert_eq!(names(&f), ["stripe"]);
        let f = Filter {
            name: Some("git".into()),
            ..Filter::default()
        };
        let got = names(&f);
        for want in ["github", "gitlab", "gitea"] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        assert!(!got.contains(&"stripe"));
    }

    #[test]
    fn scheme_matches_the_algorithm_or_the_signature_header() {
        let f = Filter {
            scheme: Some("ed25519".into()),
            ..Filter::default()
        };
        let got = names(&f);
        assert!(
            got.contains(&"discord") && got.contains(&"telnyx"),
            "{got:?}"
        );
        assert!(!got.contains(&"github"), "{got:?}");
        let f = Filter {
            scheme: Some("x-hub-signature-256".into()),
            ..Filter::default()
        };
        assert!(names(&f).contains(&"github"));
    }

    #[test]
    fn verified_by_narrows_to_one_kind_of_evidence() {
        let f = Filter {
            verified_by: Some(VerifiedBy::Sdk),
            ..Filter::default()
        };
        let got = names(&f);
        assert!(got.contains(&"stripe"), "{got:?}");
        for s in f
            .apply(inlet::catalogue::sources::all())
            .unwrap_or_default()
        {
            assert!(
                matches!(s.scheme().evidence, Evidence::Sdk(_)),
                "{}",
                s.name()
            );
        }
        assert!(VerifiedBy::parse("DOCS").is_ok());
        assert!(VerifiedBy::parse("tests").is_err());
    }

    #[test]
    fn filters_combine_and_a_miss_suggests_the_nearest_name() {
        let f = Filter {
            name: Some("stripe".into()),
            scheme: Some("ed25519".into()),
            ..Filter::default()
        };
        assert_eq!(
            f.apply(inlet::catalogue::sources::all()).err().as_deref(),
            Some("no sender matches")
        );
        let f = Filter {
            name: Some("stirpe".into()),
            ..Filter::default()
        };
        assert_eq!(
            f.apply(inlet::catalogue::sources::all()).err().as_deref(),
            Some("no sender matches; did you mean `stripe`?")
        );
        let f = Filter {
            name: Some("custom".into()),
            ..Filter::default()
        };
        // The custom scheme's row, and any sender named like it (Customer.io).
        let shown = f
            .apply(inlet::catalogue::sources::all())
            .unwrap_or_default();
        assert!(shown.iter().all(|s| s.name().contains("custom")));
        assert!(f.shows_custom());
    }
}
