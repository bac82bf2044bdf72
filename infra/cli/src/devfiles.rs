//! `inlet dev-files`: writes `infra/env.json` and the signed API Gateway events in `infra/events/`
//! that `sam local invoke` (and the tests) feed to a deployment's functions. Rerun it to
//! regenerate them. The first four senders have hand-picked events, from their samples
//! (`infra/samples/`); any other source gets its default sample and a tampered copy.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::events::{self, Format};
use crate::signing::SignArgs;
use crate::{dev, signing};
use inlet::Source;

/// Timestamps in committed events go stale; local invokes get a replay window of ten years.
/// Deployed functions keep the template's `ToleranceSeconds` (default 300).
const LOCAL_TOLERANCE_SECONDS: &str = "315360000";

/// template.yaml's default `Sources`.
pub const TEMPLATE_SOURCES: [&str; 4] = ["github", "stripe", "slack", "standard"];

/// (file name, source, sample body, event header, form body, tampered)
struct EventFile {
    name: String,
    source: &'static Source,
    body: String,
    event: Option<&'static str>,
    tampered: bool,
}

fn files(source: &'static Source) -> Result<Vec<EventFile>, String> {
    let name = source.name();
    if TEMPLATE_SOURCES.contains(&name) && source.scheme().name == name {
        return picked(source);
    }
    // Any other source: the generated sample, signed, and a tampered copy.
    let d = dev::defaults(source);
    let id = format!("inlet-sample-{name}");
    let body = crate::samples::find(source.scheme().name, None)
        .map(|s| s.body.to_owned())
        .unwrap_or_else(|| dev::sample(source, &id, &d.event, 1_700_000_000));
    Ok([false, true]
        .into_iter()
        .map(|tampered| EventFile {
            name: format!(
                "{name}-{}.json",
                if tampered { "tampered" } else { "sample" }
            ),
            source,
            body: body.clone(),
            event: None,
            tampered,
        })
        .collect())
}

/// The hand-picked events of the first four senders, from their samples.
fn picked(source: &'static Source) -> Result<Vec<EventFile>, String> {
    let read = |sender: &str, event: &str| {
        crate::samples::find(sender, Some(event))
            .map(|s| s.body.to_owned())
            .ok_or_else(|| format!("{sender} has no sample of {event}"))
    };
    let mk = |name: &str, _sender: &str, body: String, event, tampered| EventFile {
        name: name.to_owned(),
        source,
        body,
        event,
        tampered,
    };
    let slash = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0";
    let all = vec![
        mk(
            "github-push.json",
            "github",
            read("github", "push")?,
            Some("push"),
            false,
        ),
        mk(
            "github-pull-request.json",
            "github",
            read("github", "pull_request.opened")?,
            Some("pull_request"),
            false,
        ),
        mk(
            "github-push-tampered.json",
            "github",
            read("github", "push")?,
            Some("push"),
            true,
        ),
        mk(
            "stripe-payment-intent-succeeded.json",
            "stripe",
            read("stripe", "payment_intent.succeeded")?,
            None,
            false,
        ),
        mk(
            "stripe-tampered.json",
            "stripe",
            read("stripe", "payment_intent.succeeded")?,
            None,
            true,
        ),
        mk(
            "slack-app-mention.json",
            "slack",
            read("slack", "event_callback.app_mention")?,
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
            read("slack", "url_verification")?,
            None,
            false,
        ),
        mk(
            "slack-tampered.json",
            "slack",
            read("slack", "event_callback.app_mention")?,
            None,
            true,
        ),
        mk(
            "standard-order-created.json",
            "standard",
            read("standard", "order.created")?,
            None,
            false,
        ),
        mk(
            "standard-tampered.json",
            "standard",
            read("standard", "order.created")?,
            None,
            true,
        ),
    ];
    Ok(all
        .into_iter()
        .filter(|f| f.name.split('-').next() == Some(source.name()))
        .collect())
}

/// `githubFunction` for `github`: the logical id template.yaml's loop gives the function.
pub fn function_id(source: &str) -> String {
    format!("{source}Function")
}

pub fn write(dir: &Path, sources: &[String], settings: Option<&str>) -> Result<(), String> {
    let events_dir = dir.join("events");
    std::fs::create_dir_all(&events_dir).map_err(|e| e.to_string())?;
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut settings = dev::parse_settings(settings)?;
    let deployment = sources
        .iter()
        .map(|name| dev::configured(name, &mut settings))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = match &settings {
        Value::Object(m) if m.is_empty() => String::new(),
        s => s.to_string(),
    };
    let mut all = Vec::new();
    for source in &deployment {
        all.extend(files(source)?);
    }
    for (i, f) in all.into_iter().enumerate() {
        let source = f.source;
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
        let path = format!("/webhooks/{}", source.name());
        // Where the function will say the request went: its PUBLIC_URL, else the event's own URL.
        let url = source.signs_url().then(|| {
            source
                .public_url()
                .map_or_else(|| events::url(Format::HttpV2, &path), str::to_owned)
        });
        let mut signed = signing::sign(source, &args, url.as_deref())?;
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
        let event = events::event(Format::HttpV2, "POST", &path, &signed, form, epoch_ms);
        let text = serde_json::to_string_pretty(&event).map_err(|e| e.to_string())? + "\n";
        std::fs::write(events_dir.join(&f.name), text).map_err(|e| e.to_string())?;
    }
    let mut env = Map::new();
    for source in &deployment {
        let d = dev::defaults(source);
        env.insert(
            function_id(source.name()),
            // No idempotency table or payload bucket for local invokes: the template's names for
            // them do not exist outside a deployed stack. Set them to real ones to try those paths.
            json!({
                "IDEMPOTENCY_TABLE": "",
                "PAYLOAD_BUCKET": "",
                "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/inlet-dev-events",
                "WEBHOOK_SECRET_ARN": "",
                "WEBHOOK_SECRET": d.secret,
                "WEBHOOK_TOLERANCE_SECONDS": LOCAL_TOLERANCE_SECONDS,
                "INLET_SOURCE": source.name(),
                "INLET_SOURCE_SETTINGS": settings,
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
