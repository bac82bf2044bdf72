//! Managing endpoints, the same against AWS and locally: `inlet endpoints add|update|rotate-secret|
//! enable|disable|delete` check what they are given here and write it through the
//! [`Endpoints`] port. New secrets are generated here and shown once.

use http::{HeaderValue, Uri};

use super::deliver::extra_header_allowed;
use super::filter::{Filter, FilterError};
use super::model::{
    random_id, Disabled, DisabledReason, Endpoint, Millis, Previous, SecretText, MAX_EXTRA_HEADERS,
};
use super::ports::Endpoints;
use super::signing::{KeyError, KeyPair, Secret};
use crate::ports::failure::StoreError;

/// Longest endpoint URL.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest description.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// Highest rate limit, deliveries per second.
pub const MAX_RATE_LIMIT: u32 = 10_000;
/// How long the previous secret keeps signing after a rotation, by default: a day.
pub const DEFAULT_ROTATION_OVERLAP: Millis = 86_400_000;

/// Why an endpoint change is refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no endpoint {0}")]
    NotFound(String),
    #[error("the URL must be an absolute https:// URL (http:// only where the private network is allowed) with a host, no user name or password, and at most 2048 bytes")]
    Url,
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("header {0:?} cannot be set: it is not a header name, it is one Inlet sends itself, or its value is not a header value")]
    Header(String),
    #[error("at most {MAX_EXTRA_HEADERS} extra headers")]
    TooManyHeaders,
    #[error("the rate limit is 1 to {MAX_RATE_LIMIT} deliveries per second")]
    RateLimit,
    #[error("the description is at most {MAX_DESCRIPTION_BYTES} bytes")]
    Description,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An endpoint's settings, as `add` and `update` take them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub url: Option<String>,
    pub description: Option<String>,
    /// Event-type filters (`invoice.paid`, `stripe.invoice.*`); none: every event.
    pub filters: Option<Vec<String>>,
    /// Extra headers, `(name, value)`.
    pub headers: Option<Vec<(String, String)>>,
    /// `Some(None)` removes the limit.
    pub rate_limit: Option<Option<u32>>,
    pub ordered: Option<bool>,
}

/// Checks a URL an endpoint may have. The SSRF guard still vets every address it resolves to
/// when a delivery is sent; this only refuses what can never be right.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), AdminError> {
    let uri: Uri = url.parse().map_err(|_| AdminError::Url)?;
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => allow_http,
        _ => false,
    };
    let authority = uri.authority().ok_or(AdminError::Url)?;
    if !scheme_ok
        || url.len() > MAX_URL_BYTES
        || authority.as_str().contains('@')
        || authority.host().is_empty()
    {
        return Err(AdminError::Url);
    }
    Ok(())
}

fn apply(endpoint: &mut Endpoint, settings: Settings, allow_http: bool) -> Result<(), AdminError> {
    if let Some(url) = settings.url {
        check_url(&url, allow_http)?;
        endpoint.url = url;
    }
    if let Some(description) = settings.description {
        if description.len() > MAX_DESCRIPTION_BYTES {
            return Err(AdminError::Description);
        }
        endpoint.description = description;
    }
    if let Some(filters) = settings.filters {
        endpoint.filters = filters
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_, _>>()?;
    }
    if let Some(headers) = settings.headers {
        if headers.len() > MAX_EXTRA_HEADERS {
            return Err(AdminError::TooManyHeaders);
        }
        if let Some((name, _)) = headers
            .iter()
            .find(|(n, v)| !extra_header_allowed(n) || HeaderValue::from_str(v).is_err())
        {
            return Err(AdminError::Header(name.clone()));
        }
        endpoint.headers = headers;
    }
    if let Some(limit) = settings.rate_limit {
        if limit.is_some_and(|l| l == 0 || l > MAX_RATE_LIMIT) {
            return Err(AdminError::RateLimit);
        }
        endpoint.rate_limit = limit;
    }
    if let Some(ordered) = settings.ordered {
        endpoint.ordered = ordered;
    }
    Ok(())
}

/// Adds an endpoint with a new `whsec_` secret (and an Ed25519 key pair when `v1a`). The
/// returned endpoint holds the secret: show it once.
pub async fn add<E: Endpoints>(
    store: &E,
    settings: Settings,
    v1a: bool,
    allow_http: bool,
    now: Millis,
) -> Result<Endpoint, AdminError> {
    if settings.url.is_none() {
        return Err(AdminError::Url);
    }
    let mut endpoint = Endpoint {
        id: random_id("ep_"),
        url: String::new(),
        description: String::new(),
        filters: vec![],
        headers: vec![],
        disabled: None,
        rate_limit: None,
        ordered: false,
        secret: SecretText::new(Secret::generate()?.expose()),
        previous: None,
        ed25519: v1a
            .then(KeyPair::generate)
            .transpose()?
            .map(|k| SecretText::new(k.expose())),
        created_at: now,
    };
    apply(&mut endpoint, settings, allow_http)?;
    store.create(&endpoint).await?;
    Ok(endpoint)
}

async fn existing<E: Endpoints>(store: &E, id: &str) -> Result<Endpoint, AdminError> {
    store
        .get(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(id.to_owned()))
}

async fn replace<E: Endpoints>(store: &E, endpoint: Endpoint) -> Result<Endpoint, AdminError> {
    if store.update(&endpoint).await? {
        Ok(endpoint)
    } else {
        Err(AdminError::NotFound(endpoint.id))
    }
}

/// Changes the settings given, leaving the rest.
pub async fn update<E: Endpoints>(
    store: &E,
    id: &str,
    settings: Settings,
    allow_http: bool,
) -> Result<Endpoint, AdminError> {
    let mut endpoint = existing(store, id).await?;
    apply(&mut endpoint, settings, allow_http)?;
    replace(store, endpoint).await
}

/// Rotates the `whsec_` secret: `secret` (or a new one) signs from now on, and the current one
/// also signs for `overlap`, so the subscriber can switch without missing a delivery. A previous
/// secret still in its overlap is dropped: a delivery carries at most two `v1` signatures.
pub async fn rotate<E: Endpoints>(
    store: &E,
    id: &str,
    secret: Option<&str>,
    overlap: Millis,
    now: Millis,
) -> Result<Endpoint, AdminError> {
    let next = match secret {
        Some(text) => Secret::parse(text)?,
        None => Secret::generate()?,
    };
    let mut endpoint = existing(store, id).await?;
    let current = std::mem::replace(&mut endpoint.secret, SecretText::new(next.expose()));
    endpoint.previous = (overlap > 0).then(|| Previous {
        secret: current,
        until: now.saturating_add(overlap),
    });
    replace(store, endpoint).await
}

/// Disables an endpoint by hand. `false` if it was disabled already.
pub async fn disable<E: Endpoints>(store: &E, id: &str, now: Millis) -> Result<bool, AdminError> {
    existing(store, id).await?;
    Ok(store
        .disable(
            id,
            Disabled {
                reason: DisabledReason::Operator,
                at: now,
            },
        )
        .await?)
}

/// Enables an endpoint, with a fresh start for its health.
pub async fn enable<E: Endpoints>(store: &E, id: &str) -> Result<(), AdminError> {
    if store.enable(id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(id.to_owned()))
    }
}

pub async fn delete<E: Endpoints>(store: &E, id: &str) -> Result<(), AdminError> {
    if store.delete(id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::memory::MemoryEndpoints;

    fn url(u: &str) -> Settings {
        Settings {
            url: Some(u.into()),
            ..Settings::default()
        }
    }

    #[test]
    fn urls() {
        for ok in [
            "https://hooks.example.com/in",
            "https://h:8443/p?q=1",
            "https://[2001:db8::1]/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        let long = format!("https://h/{}", "a".repeat(MAX_URL_BYTES));
        for bad in [
            "http://h/",
            "ftp://h/",
            "https://u:p@h/",
            "https://u@h/",
            "/relative",
            "https://",
            "",
            long.as_str(),
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn add_generates_keys_and_checks_everything() {
        let store = MemoryEndpoints::default();
        let e = add(&store, url("https://h/in"), true, false, 7)
            .await
            .expect("add");
        assert!(e.id.starts_with("ep_") && e.secret.expose().starts_with("whsec_"));
        assert!(e
            .ed25519
            .as_ref()
            .is_some_and(|k| k.expose().starts_with("whsk_")));
        assert_eq!(store.get(&e.id).await.expect("get"), Some(e.clone()));
        let bad = [
            Settings {
                filters: Some(vec!["a*".into()]),
                ..url("https://h/")
            },
            Settings {
                headers: Some(vec![("webhook-id".into(), "x".into())]),
                ..url("https://h/")
            },
            Settings {
                headers: Some(vec![("x-a".into(), "line\nbreak".into())]),
                ..url("https://h/")
            },
            Settings {
                headers: Some((0..21).map(|i| (format!("x-{i}"), "v".into())).collect()),
                ..url("https://h/")
            },
            Settings {
                rate_limit: Some(Some(0)),
                ..url("https://h/")
            },
            Settings {
                description: Some("d".repeat(1025)),
                ..url("https://h/")
            },
            url("http://h/"),
            Settings::default(),
        ];
        for settings in bad {
            assert!(
                add(&store, settings.clone(), false, false, 7)
                    .await
                    .is_err(),
                "{settings:?}"
            );
        }
        assert_eq!(
            store.list().await.expect("list").len(),
            1,
            "nothing refused was stored"
        );
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_secret_for_the_overlap() {
        let store = MemoryEndpoints::default();
        let e = add(&store, url("https://h/"), false, false, 0)
            .await
            .expect("add");
        let r = rotate(&store, &e.id, None, 1_000, 50)
            .await
            .expect("rotate");
        assert_ne!(r.secret, e.secret);
        assert_eq!(
            r.previous,
            Some(Previous {
                secret: e.secret.clone(),
                until: 1_050
            })
        );
        let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let r2 = rotate(&store, &e.id, Some(given), 0, 60)
            .await
            .expect("rotate");
        assert_eq!((r2.secret.expose(), r2.previous.as_ref()), (given, None));
        assert!(rotate(&store, &e.id, Some("whsec_short"), 0, 60)
            .await
            .is_err());
        assert!(matches!(
            rotate(&store, "ep_missing", None, 0, 0).await,
            Err(AdminError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn update_enable_disable_delete() {
        let store = MemoryEndpoints::default();
        let e = add(&store, url("https://h/"), false, false, 0)
            .await
            .expect("add");
        let changes = Settings {
            filters: Some(vec!["invoice.*".into()]),
            rate_limit: Some(Some(5)),
            ..Settings::default()
        };
        let u = update(&store, &e.id, changes, false).await.expect("update");
        assert_eq!((u.url.as_str(), u.rate_limit), ("https://h/", Some(5)));
        assert!(u.takes("invoice.paid") && !u.takes("customer.created"));
        assert!(disable(&store, &e.id, 9).await.expect("disable"));
        assert!(!disable(&store, &e.id, 9).await.expect("again"));
        enable(&store, &e.id).await.expect("enable");
        assert!(store.get(&e.id).await.expect("get").expect("e").enabled());
        delete(&store, &e.id).await.expect("delete");
        assert!(matches!(
            delete(&store, &e.id).await,
            Err(AdminError::NotFound(_))
        ));
    }
}
