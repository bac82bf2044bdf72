//! The URL of a key a sender publishes (SNS's signing certificate, PayPal's, Plaid's JWKs), as
//! an unverified request names it: checked against the hosts the sender documents on the text
//! alone, before anything is connected to, and what the key port is asked to fetch.

use std::fmt;

/// The most bytes of a URL read from a request (PayPal's field allows 500).
pub const MAX_URL_BYTES: usize = 1024;

/// One host pattern a sender documents for its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRule {
    /// Exactly this host (lower case): `api.paypal.com`.
    Exact(&'static str),
    /// `prefix`, then one DNS label of at least three letters, digits or `-` (a region such as
    /// `us-east-1`), then `suffix`: `sns.` + `us-east-1` + `.amazonaws.com`.
    Label {
        prefix: &'static str,
        suffix: &'static str,
    },
}

impl HostRule {
    fn matches(&self, host: &str) -> bool {
        match *self {
            Self::Exact(h) => host == h,
            Self::Label { prefix, suffix } => host
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(|label| {
                    label.len() >= 3
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                }),
        }
    }
}

/// Why a key URL was refused, before any connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefused {
    /// Longer than [`MAX_URL_BYTES`], or characters a URL does not hold (spaces, controls, `\`).
    Syntax,
    /// Not `https://`.
    NotHttps,
    /// A user name or password (`https://sns.us-east-1.amazonaws.com@evil.example/`).
    UserInfo,
    /// A port (only the default one is used).
    Port,
    /// A host not on the sender's list (an IP literal never is).
    Host,
    /// A path the sender's keys do not have (SNS's end in `.pem`).
    Path,
}

impl fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "not a plain URL",
            Self::NotHttps => "not https",
            Self::UserInfo => "it names a user",
            Self::Port => "it names a port",
            Self::Host => "its host is not one the sender documents",
            Self::Path => "its path is not one of the sender's keys",
        })
    }
}

/// A key URL that passed [`check_url`]: rebuilt from its checked parts (`https://<host><path>`),
/// so what is fetched is exactly what was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUrl {
    pub host: String,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl CheckedUrl {
    pub fn url(&self) -> String {
        format!("https://{}{}", self.host, self.path)
    }
}

/// Whether `url` is an `https://` URL on one of `hosts`, with no user info, no port and a path
/// `path_ok` accepts. Decided on the text: nothing is resolved or connected to.
pub fn check_url(
    url: &str,
    hosts: &[HostRule],
    path_ok: impl Fn(&str) -> bool,
) -> Result<CheckedUrl, UrlRefused> {
    if url.len() > MAX_URL_BYTES
        || url
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b'\\' || !b.is_ascii())
    {
        return Err(UrlRefused::Syntax);
    }
    let rest = match url.get(..8) {
        Some(scheme) if scheme.eq_ignore_ascii_case("https://") => &url[8..],
        _ => return Err(UrlRefused::NotHttps),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err(UrlRefused::UserInfo);
    }
    if authority.contains('[') || authority.contains(']') {
        return Err(UrlRefused::Host);
    }
    if authority.contains(':') {
        return Err(UrlRefused::Port);
    }
    // A trailing dot names the same host to DNS but not to the list: refused, not stripped.
    let host = authority.to_ascii_lowercase();
    if host.contains('%') || !hosts.iter().any(|rule| rule.matches(&host)) {
        return Err(UrlRefused::Host);
    }
    let tail = tail.split('#').next().unwrap_or("");
    let path = if tail.starts_with('/') {
        tail.to_owned()
    } else {
        format!("/{tail}")
    };
    let bare = path.split('?').next().unwrap_or("");
    if bare
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
        || !path_ok(&path)
    {
        return Err(UrlRefused::Path);
    }
    Ok(CheckedUrl { host, path })
}

/// What the key port fetches for a request: a checked HTTPS URL, GET or (with a body) POST.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRequest {
    pub url: CheckedUrl,
    /// A JSON body to POST (Plaid's, which holds credentials: never logged or shown), or `None`
    /// to GET.
    pub body: Option<Vec<u8>>,
    /// What the fetched bytes are cached under: the URL, and for a POST whatever selects the
    /// key (never a credential).
    pub cache_key: String,
}

impl KeyRequest {
    /// A GET of `url`, cached under it.
    pub fn get(url: CheckedUrl) -> Self {
        Self {
            cache_key: url.url(),
            url,
            body: None,
        }
    }
}

impl fmt::Debug for KeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRequest")
            .field("url", &self.url.url())
            .field("post", &self.body.is_some())
            .field("cache_key", &self.cache_key)
            .finish()
    }
}
