//! `inlet dev-files`: writes `infra/env.json` and the signed API Gateway events in `infra/events/`
//! that `sam local invoke` (and the tests) feed to the functions. Rerun it to regenerate them.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::args::SignArgs;
use crate::events::{self, Format};
use crate::{dev, signing};

/// Timestamps in committed events go stale; local invokes get a replay window of ten years.
/// Deployed functions keep the template's `ToleranceSeconds` (default 300).
const LOCAL_TOLERANCE_SECONDS: &str = "315360000";

/// (file name, source, sample body, event header, form body, tampered)
struct EventFile {
    name: &'static str,
    source: &'static str,
    body: String,
    event: Option<&'static str>,
    tampered: bool,
}

fn files(samples: &Path) -> Result<Vec<EventFile>, String> {
    let read = |f: &str| {
        std::fs::read_to_string(samples.join(f))
            .map_err(|e| format!("cannot read samples/{f}: {e}"))
    };
    let mk = |name, source, body: String, event, tampered| EventFile {
        name,
        source,
        body,
        event,
        tampered,
    };
    let slack_challenge = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let slash = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0";
    Ok(vec![
        mk(
            "github-push.json",
            "github",
            read("github-push.json")?,
            Some("push"),
            false,
        ),
        mk(
            "github-pull-request.json",
            "github",
            read("github.json")?,
            Some("pull_request"),
            false,
        ),
        mk(
            "github-push-tampered.json",
            "github",
            read("github-push.json")?,
            Some("push"),
            true,
        ),
        mk(
            "stripe-payment-intent-succeeded.json",
            "stripe",
            read("stripe.json")?,
            None,
            false,
        ),
        mk(
            "stripe-tampered.json",
            "stripe",
            read("stripe.json")?,
            None,
            true,
        ),
        mk(
            "slack-app-mention.json",
            "slack",
            read("slack.json")?,
            None,
            false,
        ),
        mk(
            "slack-slash-command.json",
            "slack",
            slash.to_owned(),
            None,
            false,
        ),
        mk(
            "slack-url-verification.json",
            "slack",
            slack_challenge.to_owned(),
            None,
            false,
        ),
        mk(
            "slack-tampered.json",
            "slack",
            read("slack.json")?,
            None,
            true,
        ),
        mk(
            "standard-order-created.json",
            "standard",
            read("standard.json")?,
            None,
            false,
        ),
        mk(
            "standard-tampered.json",
            "standard",
            read("standard.json")?,
            None,
            true,
        ),
    ])
}

/// `GithubWebhookFunction` for `github`: the SAM logical id.
pub fn function_id(source: &str) -> String {
    let mut c = source.chars();
    let first = c
        .next()
        .map(|f| f.to_ascii_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{}WebhookFunction", c.as_str())
}

pub fn write(dir: &Path) -> Result<(), String> {
    let samples = dir.join("samples");
    let events_dir = dir.join("events");
    std::fs::create_dir_all(&events_dir).map_err(|e| e.to_string())?;
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    for (i, f) in files(&samples)?.into_iter().enumerate() {
        let source = inlet::sources::by_name(f.source).ok_or("unknown source")?;
        let args = SignArgs {
            data: Some(f.body),
            event: f.event.map(str::to_owned),
            id: Some(format!(
                "inlet-sample-{:04}-{}",
                i + 1,
                f.name.trim_end_matches(".json")
            )),
            ..SignArgs::default()
        };
        let mut signed = signing::sign(source, &args, None)?;
        if f.tampered {
            // Same signature, one byte of the body changed: must be rejected with 401.
            let pos = signed
                .body
                .iter()
                .rposition(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
                .unwrap_or(0);
            signed.body[pos] = if signed.body[pos] == b'1' { b'2' } else { b'1' };
        }
        let form = signed
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.contains("form"));
        let event = events::event(
            Format::HttpV2,
            "POST",
            &format!("/webhooks/{}", source.name()),
            &signed,
            form,
            epoch_ms,
        );
        let text = serde_json::to_string_pretty(&event).map_err(|e| e.to_string())? + "\n";
        std::fs::write(events_dir.join(f.name), text).map_err(|e| e.to_string())?;
    }
    let mut env = Map::new();
    for name in ["github", "stripe", "slack", "standard"] {
        let source = inlet::sources::by_name(name).ok_or("unknown source")?;
        let d = dev::defaults(source);
        env.insert(
            function_id(name),
            // No idempotency table or payload bucket for local invokes: the template's names for
            // them do not exist outside a deployed stack. Set them to real ones to try those paths.
            json!({
                "IDEMPOTENCY_TABLE": "",
                "PAYLOAD_BUCKET": "",
                "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/inlet-dev-events",
                "WEBHOOK_SECRET_ARN": "",
                "WEBHOOK_SECRET": d.secret,
                "WEBHOOK_TOLERANCE_SECONDS": LOCAL_TOLERANCE_SECONDS,
            }),
        );
    }
    let text = serde_json::to_string_pretty(&Value::Object(env)).map_err(|e| e.to_string())? + "\n";
    std::fs::write(dir.join("env.json"), text).map_err(|e| e.to_string())?;
    println!(
        "wrote {}/env.json and {}/*.json",
        dir.display(),
        events_dir.display()
    );
    Ok(())
}
