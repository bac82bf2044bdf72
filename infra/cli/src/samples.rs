//! The senders' realistic samples, `infra/samples/<source>/`, embedded by build.rs:
//! `<event>.json|.form|.txt` is a body as the sender posts it, `<event>.headers` the other
//! headers it sends with it (`Name: value` lines), and `expect.json` names the default event and,
//! for each sample, the envelope it makes (type, id, subject, status) and the document it follows.
//! `<event>` is what `--event` takes: the envelope type's words after `<source>.`.

use serde_json::Value;

/// One source's folder.
#[derive(Debug)]
pub struct Folder {
    pub source: &'static str,
    pub expect: &'static str,
    pub files: &'static [File],
}

/// One file of a folder.
#[derive(Debug)]
pub struct File {
    pub name: &'static str,
    pub text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

/// A body's file extensions and the content type each is sent as.
const BODIES: [(&str, &str); 3] = [
    (".json", "application/json"),
    (".form", "application/x-www-form-urlencoded"),
    (".txt", "text/plain"),
];

/// One sample, ready to sign.
#[derive(Debug, Clone)]
pub struct Sample {
    pub event: String,
    /// Exactly the file's bytes: some senders' ids are a digest of them.
    pub body: &'static str,
    pub content_type: &'static str,
    /// The other headers the sender sends, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// What `expect.json` says of it.
    pub expect: Value,
}

fn folder(source: &str) -> Option<&'static Folder> {
    FOLDERS.iter().find(|f| f.source == source)
}

fn expect(folder: &Folder) -> Value {
    serde_json::from_str(folder.expect)
        .unwrap_or_else(|e| panic!("infra/samples/{}/expect.json: {e}", folder.source))
}

/// The events `source` has samples of, its default first.
pub fn events(source: &str) -> Vec<String> {
    let Some(folder) = folder(source) else {
        return vec![];
    };
    let default = expect(folder)["default"].as_str().map(str::to_owned);
    let mut events: Vec<String> = folder
        .files
        .iter()
        .filter_map(|f| {
            BODIES
                .iter()
                .find_map(|(ext, _)| f.name.strip_suffix(ext))
                .map(str::to_owned)
        })
        .collect();
    events.sort_by_key(|e| Some(e) != default.as_ref());
    events
}

/// `source`'s sample of `event`, or its default sample when `event` is `None`.
pub fn find(source: &str, event: Option<&str>) -> Option<Sample> {
    let folder = folder(source)?;
    let expect = expect(folder);
    let event = match event {
        Some(e) => e.to_owned(),
        None => expect["default"].as_str()?.to_owned(),
    };
    let (body, content_type) = BODIES.iter().find_map(|(ext, ct)| {
        let name = format!("{event}{ext}");
        folder
            .files
            .iter()
            .find(|f| f.name == name)
            .map(|f| (f.text, *ct))
    })?;
    let headers_file = format!("{event}.headers");
    let headers = folder
        .files
        .iter()
        .find(|f| f.name == headers_file)
        .map(|f| header_lines(f.text))
        .unwrap_or_default();
    Some(Sample {
        expect: expect["samples"][&event].clone(),
        event,
        body,
        content_type,
        headers,
    })
}

/// `Name: value` lines; blank lines and lines starting with `#` are skipped.
fn header_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect()
}

/// `inlet samples [<source>]`: one line per sample, the default first for each source.
pub fn listing(only: Option<&str>) -> Result<String, String> {
    let shown: Vec<&Folder> = FOLDERS
        .iter()
        .filter(|f| only.is_none_or(|o| f.source == o))
        .collect();
    if shown.is_empty() {
        let hint = only
            .and_then(|o| inlet::config::closest(o, FOLDERS.iter().map(|f| f.source)))
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        return Err(format!(
            "no samples for {:?}{hint}",
            only.unwrap_or_default()
        ));
    }
    let mut rows = vec![["SOURCE".to_owned(), "EVENT".to_owned(), "MAKES".to_owned()]];
    for folder in shown {
        for (i, event) in events(folder.source).into_iter().enumerate() {
            let sample = find(folder.source, Some(&event)).expect("a listed sample exists");
            let makes = match (
                sample.expect["type"].as_str(),
                sample.expect["handshake"].as_str(),
            ) {
                (Some(ty), _) => ty.to_owned(),
                (None, Some(handshake)) => format!("the {handshake} handshake"),
                (None, None) => "?".to_owned(),
            };
            let default = if i == 0 { " (default)" } else { "" };
            rows.push([folder.source.to_owned(), event, format!("{makes}{default}")]);
        }
        let handshake =
            inlet::catalogue::sources::by_name(folder.source).and_then(crate::handshakes::sendable);
        if let Some(h) = handshake {
            rows.push([
                folder.source.to_owned(),
                "--handshake".to_owned(),
                format!("the {} handshake", h.name()),
            ]);
        }
    }
    let widths: Vec<usize> = (0..2)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    Ok(rows
        .iter()
        .map(|r| {
            format!(
                "{:<w0$}  {:<w1$}  {}\n",
                r[0],
                r[1],
                r[2],
                w0 = widths[0],
                w1 = widths[1]
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_folder_is_a_sender_with_a_default_sample_of_an_event() {
        for folder in FOLDERS {
            let source = inlet::catalogue::sources::all()
                .iter()
                .find(|s| s.name() == folder.source)
                .unwrap_or_else(|| panic!("infra/samples/{} is no sender", folder.source));
            let default = find(source.name(), None)
                .unwrap_or_else(|| panic!("{}: no default sample", folder.source));
            assert!(
                default.expect["type"].is_string(),
                "{}: the default sample is no event",
                folder.source
            );
            assert_eq!(events(folder.source).first(), Some(&default.event));
        }
    }

    #[test]
    fn every_sample_has_its_expectation_and_every_expectation_a_sample() {
        for folder in FOLDERS {
            let expect = expect(folder);
            let listed = expect["samples"].as_object().expect("samples").len();
            let events = events(folder.source);
            assert_eq!(listed, events.len(), "{}", folder.source);
            for event in events {
                let sample = find(folder.source, Some(&event)).expect("found");
                let e = &sample.expect;
                assert!(
                    e["from"].as_str().is_some_and(|f| !f.is_empty()),
                    "{} {event}: no source document",
                    folder.source
                );
                assert!(
                    e["status"].is_u64() && (e["type"].is_string() || e["handshake"].is_string()),
                    "{} {event}: {e}",
                    folder.source
                );
            }
        }
    }

    #[test]
    fn header_files_are_name_value_lines() {
        assert_eq!(
            header_lines("X-Topic: orders/create\n\n# note\nX-Time: 12:00\n"),
            [
                ("x-topic".to_owned(), "orders/create".to_owned()),
                ("x-time".to_owned(), "12:00".to_owned())
            ]
        );
    }

    #[test]
    fn listing_a_source_without_samples_suggests_one() {
        let e = listing(Some("strpe")).expect_err("no such folder");
        assert!(e.contains("did you mean `stripe`?"), "{e}");
    }
}
