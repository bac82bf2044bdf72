//! Microsoft Teams outgoing webhooks: `Authorization: HMAC <base64 HMAC-SHA256(key, raw body)>`,
//! the key being the security token Teams shows when the outgoing webhook is created,
//! base64-decoded: configure that token as the secret. Microsoft's guide
//! (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook,
//! "Create a method to verify the outgoing webhook HMAC token") describes the header and the
//! HMAC of the body; the key decoding and encoding are those of Microsoft's own samples,
//! OfficeDev/msteams-samples-outgoing-webhook-nodejs `app.js` (`Buffer(sharedSecret, "base64")`,
//! `"HMAC " + createHmac('sha256', …).digest("base64")`) and
//! OfficeDev/microsoft-teams-sample-outgoing-webhook `AuthProvider.cs`. The body is a Bot
//! Framework activity for the message that @mentioned the webhook: its `id` (signed) is the
//! envelope id, `type` the type (`microsoft-teams.message`), `conversation.id` the subject,
//! `timestamp` the time. No timestamp is signed, so no replay window applies (duplicates by the
//! signed activity id). Teams posts a reply's activity in the channel (the samples answer
//! `{"type":"message","text":…}`); Inlet's 202 carries none, so nothing is posted back
//! (inferred from the samples).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "microsoft-teams",
    title: "Microsoft Teams (outgoing webhooks)",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Prefix("HMAC "),
        all: false,
    },
    encoding: Encoding::Base64,
    key: KeyDecoding::Base64,
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("conversation.id")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339)],
    evidence: Evidence::Docs(
        "Microsoft's OfficeDev/msteams-samples-outgoing-webhook-nodejs app.js verifier",
    ),
    note: "the secret is the security token Teams shows (base64); no timestamp is signed, so no replay window applies (duplicates by the signed activity id); nothing is posted back to the channel",
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

    /// A security token in Teams' shape (32 bytes, base64): `teams-outgoing-webhook-hmac-key!`.
    const SECRET: &str = "dGVhbXMtb3V0Z29pbmctd2ViaG9vay1obWFjLWtleSE=";
    /// The incoming message of the outgoing-webhook guide, shortened.
    const BODY: &[u8] = br#"{"type":"message","id":"1485983408511","timestamp":"2017-02-01T21:10:07.437Z","serviceUrl":"https://smba.trafficmanager.net/amer/","channelId":"msteams","from":{"id":"29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ-NJWi7me2kHTL3Bw","name":"Tim Jones"},"conversation":{"isGroup":true,"id":"19:253b1f341670408fb6fcb5c8f21e9b4c@thread.skype;messageid=1485983194839","name":null},"recipient":null,"textFormat":"plain","attachments":[],"entities":[],"text":"<at>Sample Bot</at> hello","channelData":{"teamsChannelId":"19:253b1f341670408fb6fcb5c8f21e9b4c@thread.skype","teamsTeamId":"19:712c61d0ef384e5fa681ba90ddf4ad1d@thread.skype","tenant":{"id":"72f988bf-86f1-41af-91ab-2d7cd011db47"}}}"#;
    /// Derived from Microsoft's guide and samples (base64 HMAC-SHA256 of the body under the
    /// base64-decoded token, computed with Python's hmac), not published.
    const SIG: &str = "HMAC 7l49WfF09ewbQMPH+ocZVuB7IRafndEF4/ygyuMXptU=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("authorization", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "authorization";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG["HMAC ".len()..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace("HMAC ", "Bearer "))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "HMAC not base64!")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("microsoft-teams", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json; charset=utf-8"),
                    ("authorization", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("1485983408511"),
                ty: "microsoft-teams.message",
                subject: Some(
                    "19:253b1f341670408fb6fcb5c8f21e9b4c@thread.skype;messageid=1485983194839",
                ),
                time: "2017-02-01T21:10:07.437Z",
            },
        );
    }
}
