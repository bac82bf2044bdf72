//! `inlet`: the local dev server and a CLI that signs and sends test webhooks like each provider.

mod args;
mod catalogue;
mod dev;
mod devfiles;
mod devkeys;
mod events;
mod handshakes;
mod inspector;
mod outbound;
mod samples;
mod serve;
mod signing;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use args::Command;
use inlet::Source;

/// A sender by name, or a source `INLET_SOURCE_SETTINGS` configures (as a deployment would).
fn source(name: &str) -> Result<&'static Source, String> {
    let mut settings = dev::settings()?;
    dev::warn_unread(&settings);
    let names = dev::configured_names(&settings);
    if !names.iter().any(|n| n == name) {
        let hint = inlet::config::closest(name, names.iter().map(String::as_str))
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        return Err(format!(
            "unknown source {name:?}: {hint}`inlet sources` lists the senders Inlet knows; other names need an entry in INLET_SOURCE_SETTINGS"
        ));
    }
    dev::configured(name, &mut settings)
}

fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Serve(args) => {
            serve::init_logging(args.log_format);
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime.block_on(serve::serve(&args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Endpoints { command, store } => outbound::run(outbound::args::Parsed {
            command: command.command(),
            db: store.db,
        }),
        Command::Publish { publish, store } => outbound::run(outbound::args::Parsed {
            command: publish.command(),
            db: store.db,
        }),
        Command::Deliveries { command, store } => outbound::run(outbound::args::Parsed {
            command: command.command(),
            db: store.db,
        }),
        Command::Samples { source } => match samples::listing(source.as_deref()) {
            Ok(listing) => {
                print!("{listing}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e),
        },
        Command::Completions { shell } => {
            let mut cli = <args::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "inlet", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            source,
            bucket,
            queue_url,
            keep,
            unchecked_data,
        } => {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let options = inlet::app::replay::Options {
                source: source.as_deref(),
                keep,
                unchecked_data,
            };
            let summary = runtime.block_on(replay(bucket, queue_url, &options))?;
            Ok(if summary.refused == 0 && summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::DevFiles { dir, sources } => {
            let settings = std::env::var(inlet::config::SOURCE_SETTINGS).ok();
            devfiles::write(std::path::Path::new(&dir), &sources, settings.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources {
            name,
            scheme,
            verified_by,
            markdown,
        } => {
            let filter = catalogue::Filter {
                name,
                scheme,
                verified_by: verified_by
                    .as_deref()
                    .map(catalogue::VerifiedBy::parse)
                    .transpose()?,
            };
            let shown = match filter.apply(inlet::catalogue::sources::all()) {
                Ok(shown) => shown,
                Err(e) => {
                    eprintln!("inlet: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            print!(
                "{}",
                if markdown {
                    senders_markdown(&shown)
                } else {
                    sources_table(&shown, filter.shows_custom())
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { source: name, sign } => {
            let src = source(&name)?;
            let url = sign.url.clone().or_else(|| default_url(src));
            let signed = signing::sign(src, &sign, url.as_deref())?;
            for (k, v) in &signed.headers {
                println!("{k}: {v}");
            }
            // A sender whose body is its signature (Wix's token): after a blank line, the body.
            if src
                .scheme()
                .signature
                .at
                .contains(&inlet::core::scheme::Loc::Body)
            {
                println!("\n{}", String::from_utf8_lossy(&signed.body));
            }
            if let Some(url) = &signed.url {
                eprintln!("inlet: {} sends this body to {url}", src.name());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Event {
            source: name,
            format,
            base64,
            method,
            path,
            sign,
        } => {
            let src = source(&name)?;
            let path = path.unwrap_or_else(|| format!("/webhooks/{}", src.name()));
            let format = events::Format::parse(&format)?;
            let url = sign
                .url
                .clone()
                .or_else(|| src.signs_url().then(|| events::url(format, &path)));
            let signed = signing::sign(src, &sign, url.as_deref())?;
            let epoch_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let event = events::event(format, &method, &path, &signed, base64, epoch_ms);
            println!(
                "{}",
                serde_json::to_string_pretty(&event).map_err(|e| e.to_string())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Send {
            source: name,
            sign,
            handshake,
        } => {
            let src = source(&name)?;
            let url = sign
                .url
                .clone()
                .unwrap_or_else(|| format!("http://127.0.0.1:3000/webhooks/{}", src.name()));
            if handshake {
                return send_handshake(src, &sign, &url);
            }
            let signed = signing::sign(src, &sign, Some(&url))?;
            let url = signed.url.clone().unwrap_or(url);
            let agent = agent();
            let mut response = with_headers(agent.post(&url), &signed.headers)
                .send(&signed.body[..])
                .map_err(|e| format!("POST {url} failed: {e}"))?;
            let status = response.status();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            print_status(status);
            println!("{body}");
            Ok(if status.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `inlet send <source> --handshake`: the sender's handshake request, its answer, and whether the
/// sender would take that answer (exit status 0) or not (1).
fn send_handshake(
    src: &'static Source,
    sign: &signing::SignArgs,
    url: &str,
) -> Result<ExitCode, String> {
    let given = (sign.secret.clone()).or_else(|| std::env::var(dev::secret_var(src)).ok());
    if given.is_none() {
        let refused =
            handshakes::sendable(src).and_then(|h| handshakes::refuse_development_secret(h, url));
        if let Some(why) = refused {
            return Err(format!("{}: {why}", src.name()));
        }
    }
    let secret = given.unwrap_or_else(|| dev::defaults(src).signing_secret);
    let token = dev::verify_token(src.name())?;
    let probe = handshakes::probe(src, url, &secret, token.as_deref())?;
    let agent = agent();
    let sent = match probe.method {
        http::Method::GET => with_headers(agent.get(&probe.url), &probe.headers).call(),
        http::Method::HEAD => with_headers(agent.head(&probe.url), &probe.headers).call(),
        _ => with_headers(agent.post(&probe.url), &probe.headers).send(&probe.body[..]),
    };
    let mut response = sent.map_err(|e| format!("{} {} failed: {e}", probe.method, probe.url))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    print_status(status);
    if !body.is_empty() {
        println!("{body}");
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let answer = handshakes::Answer {
        status: status.as_u16(),
        header: &header,
        body: &body,
    };
    let name = probe.handshake.name();
    Ok(match probe.check(&answer) {
        Ok(what) => {
            println!(
                "{} would take this answer to its {name} handshake: {what}",
                src.name()
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!(
                "inlet: {} would not take this answer to its {name} handshake: {why}",
                src.name()
            );
            ExitCode::FAILURE
        }
    })
}

/// The answer's status line, as `send` prints it first: `202 Accepted`.
fn print_status(status: http::StatusCode) {
    println!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
}

/// An HTTP client that hands back every answer, whatever its status.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: &[(String, String)],
) -> ureq::RequestBuilder<B> {
    for (k, v) in headers {
        request = request.header(k, v);
    }
    request
}

/// Where a request to the local server goes, for schemes that sign the URL.
fn default_url(source: &Source) -> Option<String> {
    source
        .signs_url()
        .then(|| format!("http://127.0.0.1:3000/webhooks/{}", source.name()))
}

/// `inlet sources`: every sender, its scheme, handshakes, routed methods and how our tests
/// verify it, in columns as wide as their widest value.
fn sources_table(shown: &[&Source], custom: bool) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "SOURCE",
        "SENDER",
        "SCHEME",
        "ID",
        "RETRIES",
        "HANDSHAKES",
        "METHODS",
        "HOW VERIFIED",
    ]
    .map(str::to_owned)];
    for src in shown {
        let s = src.scheme();
        let header = s
            .signature
            .at
            .first()
            .map(inlet::core::verify::engine::label)
            .unwrap_or("");
        let id =
            s.id.first()
                .map(|l| {
                    let signed = if s.signs(l) { "" } else { " (unsigned)" };
                    format!("{l}{signed}")
                })
                .unwrap_or_default();
        let handshakes: Vec<&str> = s.handshakes.iter().map(|h| h.name()).collect();
        let methods: Vec<String> = s.methods().iter().map(|m| m.to_string()).collect();
        rows.push([
            s.name.to_owned(),
            s.title.to_owned(),
            format!(
                "{} {}",
                inlet::core::verify::algorithm_label(s.algorithm),
                header
            ),
            id,
            retries(s),
            if handshakes.is_empty() {
                "-".to_owned()
            } else {
                handshakes.join(", ")
            },
            methods.join(","),
            s.evidence.to_string(),
        ]);
    }
    if custom {
        rows.push(
            [
                "<any name>",
                "Custom (INLET_SCHEME=custom)",
                "configured: INLET_CUSTOM_*",
                "configured",
                "configured",
                "-",
                "POST",
                "unit tests of the settings",
            ]
            .map(str::to_owned),
        );
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        for (cell, width) in row.iter().zip(&widths) {
            out.push_str(&format!("{cell:<width$}  "));
        }
        out.push_str(&row[7]);
        out.push('\n');
    }
    out
}

/// How a sender's id behaves under its retries, per event for senders that post batches.
fn retries(s: &inlet::core::scheme::Scheme) -> String {
    match s.batch {
        Some(_) => format!("{} (per event)", s.retries()),
        None => s.retries().to_string(),
    }
}

/// `inlet sources --markdown`: the book's table of supported senders (docs/src/senders.md) (a test keeps them equal).
fn senders_markdown(shown: &[&Source]) -> String {
    use inlet::core::scheme::TypePart;
    let code = |s: &str| format!("`{s}`");
    let locs = |l: &[inlet::core::scheme::Loc]| {
        l.iter()
            .map(|l| code(&l.to_string()))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let mut out = String::from(
        "| source | sender | signature | envelope `id` | under retries | envelope `type` | `subject` | handshakes | verified by |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for src in shown {
        let s = src.scheme();
        let header = s
            .signature
            .at
            .first()
            .map(inlet::core::verify::engine::label)
            .unwrap_or("");
        let unsigned = s.id.iter().any(|l| !s.signs(l));
        let ty: Vec<String> =
            s.ty.iter()
                .map(|p| match p {
                    TypePart::Required(l) => format!("<{l}>"),
                    TypePart::Optional(l) => format!("[<{l}>]"),
                    TypePart::Lit(w) => (*w).to_owned(),
                    TypePart::KeyOf(keys) => format!("<key: {}>", keys.join("/")),
                })
                .collect();
        let ty = if ty.is_empty() {
            format!("`{}`", s.name)
        } else {
            format!("`{}.{}`", s.name, ty.join("."))
        };
        let handshakes: Vec<&str> = s.handshakes.iter().map(|h| h.name()).collect();
        let evidence = match s.evidence {
            inlet::core::scheme::Evidence::Sdk(sdk) => format!("SDK: {sdk}"),
            inlet::core::scheme::Evidence::SdkPending(_)
            | inlet::core::scheme::Evidence::Vectors => "published vectors".to_owned(),
            inlet::core::scheme::Evidence::Docs(check) => {
                format!("vectors derived from docs, cross-checked with {check}")
            }
            inlet::core::scheme::Evidence::Configured => "the settings' tests".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} `{}` | {}{}{} | {} | {}{} | {} | {} | {} |\n",
            s.name,
            s.title,
            inlet::core::verify::algorithm_label(s.algorithm),
            header,
            if s.batch.is_some() {
                "each event's "
            } else {
                ""
            },
            locs(s.id),
            if unsigned {
                " (unsigned, validated)"
            } else {
                ""
            },
            retries(s),
            ty,
            if s.custom.is_some() { " *" } else { "" },
            if s.subject.is_empty() {
                "—".to_owned()
            } else {
                locs(s.subject)
            },
            if handshakes.is_empty() {
                "—".to_owned()
            } else {
                handshakes.join(", ")
            },
            evidence
        ));
    }
    out
}

/// `inlet replay`: parked envelopes back onto the queue, one line each (the key escaped: it may
/// hold anything).
async fn replay(
    bucket: Option<String>,
    queue_url: Option<String>,
    options: &inlet::app::replay::Options<'_>,
) -> Result<inlet::app::replay::Summary, String> {
    use inlet::app::replay::Replayed;
    let env = inlet::config::Env::from_process();
    let bucket = bucket
        .or_else(|| env.get(inlet::config::PAYLOAD_BUCKET).map(str::to_owned))
        .ok_or("give --bucket, or set PAYLOAD_BUCKET")?;
    let queue_url = match queue_url {
        Some(url) => url,
        None => {
            inlet::config::queue_url(&env).map_err(|e| format!("give --queue-url, or set {e}"))?
        }
    };
    let sdk = inlet::adapters::aws::sdk_config(&env, inlet::adapters::aws::Trust::System)
        .await
        .map_err(|e| e.to_string())?;
    let summary =
        inlet::app::replay::replay(&sdk, &env, &bucket, &queue_url, options, |key, outcome| {
            let key = key.escape_debug();
            match outcome {
                Replayed::Sent {
                    message_id,
                    unchecked,
                } => println!(
                    "sent    {key} -> {message_id}{}",
                    if unchecked { " (data unchecked)" } else { "" }
                ),
                Replayed::Refused(why) => println!("refused {key}: {why}"),
                Replayed::Failed(why) => println!("failed  {key}: {why}"),
            }
        })
        .await?;
    let unchecked = match summary.unchecked {
        0 => String::new(),
        n => format!(" ({n} with data unchecked)"),
    };
    println!(
        "{} sent{unchecked}, {} refused, {} failed",
        summary.sent, summary.refused, summary.failed
    );
    Ok(summary)
}

fn main() -> ExitCode {
    let cli = match <args::Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version on stdout with status 0; usage errors on stderr with status 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
