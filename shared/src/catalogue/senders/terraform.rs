//! HCP Terraform (Terraform Cloud) and Terraform Enterprise generic notifications:
//! `X-TFE-Notification-Signature: <hex HMAC-SHA512(token, raw body)>`, the notification
//! configuration's `token` used as its UTF-8 bytes. HashiCorp's docs
//! (https://developer.hashicorp.com/terraform/cloud-docs/workspaces/settings/notifications,
//! "Notification Authenticity": "the X-TFE-Notification-Signature header, which contains the
//! HMAC signature computed from the token using the SHA-512 digest algorithm";
//! https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations,
//! "Notification payload") name the header, the hash and the payload; the hex encoding (which
//! the docs do not state) is that of assareh/tfc-state-backer-upper's notification Lambda
//! (`hmac.new(token, body, hashlib.sha512).hexdigest()` compared with the header). A
//! configuration without a token sends no signature, which is refused. The body holds one
//! notification: `notifications[0].trigger` is the type (`terraform.run:completed`,
//! `terraform.assessment:drifted`, `terraform.verification` for the check HCP Terraform sends
//! when a configuration is created or verified), `run_id` the subject, `run_updated_at` the
//! time. No event id exists: the envelope id is the body digest, each notification's
//! `trigger`, `run_status` and `run_updated_at` telling events apart (two verifications of one
//! configuration may collapse, which is harmless). No timestamp is signed, so no replay window
//! applies. Slack, Teams and email destinations use other protocols and are out of scope.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "terraform",
    title: "HCP Terraform",
    signature: Signature {
        at: &[Loc::Header("x-tfe-notification-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha512),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("notifications.0.trigger"))],
    subject: &[Loc::Json("run_id"), Loc::Json("workspace_id")],
    time: &[TimeLoc::At(
        Loc::Json("notifications.0.run_updated_at"),
        Unit::Rfc3339,
    )],
    evidence: Evidence::Docs("assareh/tfc-state-backer-upper's notification Lambda (hexdigest)"),
    note: "generic notifications with a token only; no event id (duplicates by body digest) and no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "tfe-notification-token";
    /// The run notification payload of the notification-configurations API reference.
    const BODY: &[u8] = br#"{"payload_version":1,"notification_configuration_id":"nc-AeUQ2zfKZzW9TiGZ","run_url":"https://app.terraform.io/app/acme-org/my-workspace/runs/run-FwnENkvDnrpyFC7M","run_id":"run-FwnENkvDnrpyFC7M","run_message":"Add five new queue workers","run_created_at":"2019-01-25T18:34:00.000Z","run_created_by":"sample-user","workspace_id":"ws-XdeUVMWShTesDMME","workspace_name":"my-workspace","organization_name":"acme-org","notifications":[{"message":"Run Canceled","trigger":"run:errored","run_status":"canceled","run_updated_at":"2019-01-25T18:37:04.000Z","run_updated_by":"sample-user"}]}"#;
    /// Derived from HashiCorp's docs (hex HMAC-SHA512 of the body, computed with Python's
    /// hmac), not published.
    const SIG: &str = "855224fb0b3d596cd6bb8e541e489b5300ebd973565ebbc3387935d37db3a98a2713c284a369415e3c0d2862fae4bd64056891a1d64fd24d789a230bb6605781";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-tfe-notification-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-tfe-notification-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // A SHA-256-sized MAC is not Terraform's.
            (
                &[(header, &SIG[..64])],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha512={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("terraform", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-tfe-notification-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "terraform.run:errored",
                subject: Some("run-FwnENkvDnrpyFC7M"),
                time: "2019-01-25T18:37:04.000Z",
            },
        );
    }
}
