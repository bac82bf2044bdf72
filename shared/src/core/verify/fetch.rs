//! Keys a sender publishes rather than shares (SNS's signing certificate, PayPal's, Plaid's
//! JWKs), the pure half: which URL a request names, whether that URL is one of the hosts the
//! sender documents (decided on the text alone, before anything is connected to), and the check
//! of a request against a key once it has been fetched.
//!
//! The design: verification stays pure and synchronous. A sender whose key is fetched says so
//! through its [`crate::core::scheme::Custom`] hooks ([`Custom::key_request`],
//! [`Custom::verify_fetched`]); the pipeline reads the key reference from the still unverified
//! request, has it checked here ([`check_url`]), fetches it through its key port
//! ([`crate::ports::fetched::KeySource`]: HTTPS only, within the request's deadline, cached across
//! invocations) and hands the bytes to [`verify`], which is as pure as the engine. A fetch that
//! fails is a 503 + `Retry-After` (the pipeline's `KeyUnavailable`), never an accept; a URL off
//! the sender's list is a 401 and nothing is fetched.
//!
//! [`Custom::key_request`]: crate::core::scheme::Custom::key_request
//! [`Custom::verify_fetched`]: crate::core::scheme::Custom::verify_fetched

use super::{Clock, SecretSet, Unverified, Verified, VerifyError};
use crate::core::scheme::Scheme;

pub use crate::core::key_url::{
    check_url, CheckedUrl, HostRule, KeyRequest, UrlRefused, MAX_URL_BYTES,
};

/// The key request `req` makes for `scheme`: `None` for a scheme whose key is configured.
pub fn key_request(
    scheme: &Scheme,
    req: &Unverified<'_>,
    secrets: &SecretSet,
) -> Option<Result<KeyRequest, VerifyError>> {
    scheme.custom?.key_request(req, secrets)
}

/// Checks `req` against the key bytes `fetched` (what [`key_request`] named, as fetched) with
/// every active secret (SNS's topic, PayPal's webhook id, Plaid's credentials).
pub fn verify<'a>(
    scheme: &'static Scheme,
    secrets: &SecretSet,
    req: Unverified<'a>,
    clock: &Clock,
    fetched: &[u8],
) -> Result<Verified<'a>, VerifyError> {
    let header = scheme
        .signature
        .at
        .first()
        .map_or("signature", super::engine::label);
    let custom = scheme
        .custom
        .ok_or(VerifyError::SignatureMismatch { header })?;
    for secret in secrets.iter() {
        match custom.verify_fetched(&req, secret.key(), fetched, clock) {
            None => break,
            Some(Ok(Some(timestamp))) => {
                return Ok(Verified::new(
                    req,
                    super::engine::labels(scheme),
                    secret,
                    Some(timestamp),
                ))
            }
            Some(Ok(None)) => {}
            Some(Err(e)) => return Err(e),
        }
    }
    Err(VerifyError::SignatureMismatch { header })
}

/// The public key of the first certificate in `pem` (SNS's and PayPal's certificate URLs serve
/// PEM, PayPal's a chain, leaf first), refused when it is not valid at `now`. Its issuer is not
/// checked here: it was fetched over HTTPS from a host the sender documents, whose own TLS chain
/// to Mozilla's roots the client checked.
pub fn certificate_key(pem: &[u8], now: std::time::SystemTime) -> Option<super::keys::PublicKey> {
    use x509_cert::der::Decode;
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN CERTIFICATE-----")?;
    let end = text[start..].find("-----END CERTIFICATE-----")? + start;
    let block = &text[start..end + "-----END CERTIFICATE-----".len()];
    let (_, der) = x509_cert::der::pem::decode_vec(block.as_bytes()).ok()?;
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    let validity = cert.tbs_certificate.validity;
    let now = now.duration_since(std::time::UNIX_EPOCH).ok()?;
    if now < validity.not_before.to_unix_duration() || now > validity.not_after.to_unix_duration() {
        return None;
    }
    super::keys::PublicKey::from_certificate_der(&der).ok()
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Test keys, made for these tests with Python's `cryptography` (RSA 2048, self-signed,
    //! valid 2010 to 2049): the signer's certificate is what the tests serve; the forger's key
    //! signs what must be refused.

    pub const SIGNER_CERT: &str = "-----BEGIN CERTIFICATE-----\n\
MIICxDCCAaygAwIBAgIUafKAMT8tG14qd7qTpwGR/XoVFVAwDQYJKoZIhvcNAQEL\n\
BQAwHDEaMBgGA1UEAwwRc25zLmFtYXpvbmF3cy5jb20wHhcNMTAwMTAxMDAwMDAw\n\
WhcNNDkxMjMxMDAwMDAwWjAcMRowGAYDVQQDDBFzbnMuYW1hem9uYXdzLmNvbTCC\n\
ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAItDL72ZKwTJQQ1ctnF1dbR2\n\
D1YlgR4QeGIj6PeND/MeXf7zUw6ZEfBNDFa00BF89GPIl0km3nh9ariHla5OhVGB\n\
kQ1TLcrbFCRO8kn83Py7dPIhMim8c2RspcQiavQ2dLWYjmzzcAg/W3XGPss1kBlp\n\
ztlohKT4h1tlqkfK2cm646n1nduMTt6vZFzDQOUJQ7kmhDSQGL/sn2/hcs1Av7sW\n\
0cxWXRrcHlXm71hpNHtHhGUM5DG/4AAXBqDzdwP7FMslWm4xAX6JXnFTV/CWx6GF\n\
Pm7YfR+UjvQ/cC8VrLij8F8rdVNCkYKCFv1+9Etx6w0wXLMSXpcXz1kVx4ANM/0C\n\
AwEAATANBgkqhkiG9w0BAQsFAAOCAQEALFi9osYaoSh/yJUurpiKOpTj8LyOjiCY\n\
t2MG9xWrpQ5apFjHQitaKrz4/4MWIYCWUSiYGuJQ9qd10onzVCY3PzdVQ3bG1/8D\n\
NbrbwwKBcbqGRySTBA9gTyg7pSs70+jWaaG1ZQ8mfUFlmEwmzPBlRxw88UD4njf/\n\
FJAkA7Sv8nUklVGxp+EGXoVGtSblDuMYUZ4ucUgr5JVzhB0HtqKOix5rxvN45xCb\n\
8fmiQ5eIuKZzuXnEn5UU49IMV10xXwG4qntPqljEzDdbwIxnnNFP6EveS9JcO0J1\n\
Wfdi+wwcEOwqeqdQAjSxxQ+CnUqvsoSfSYc0QvL1bwVxAMeRu4J+RQ==\n\
-----END CERTIFICATE-----";
    pub const SIGNER_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCLQy+9mSsEyUEN\n\
XLZxdXW0dg9WJYEeEHhiI+j3jQ/zHl3+81MOmRHwTQxWtNARfPRjyJdJJt54fWq4\n\
h5WuToVRgZENUy3K2xQkTvJJ/Nz8u3TyITIpvHNkbKXEImr0NnS1mI5s83AIP1t1\n\
xj7LNZAZac7ZaISk+IdbZapHytnJuuOp9Z3bjE7er2Rcw0DlCUO5JoQ0kBi/7J9v\n\
4XLNQL+7FtHMVl0a3B5V5u9YaTR7R4RlDOQxv+AAFwag83cD+xTLJVpuMQF+iV5x\n\
U1fwlsehhT5u2H0flI70P3AvFay4o/BfK3VTQpGCghb9fvRLcesNMFyzEl6XF89Z\n\
FceADTP9AgMBAAECggEAIzPwIP7Tc4nGMnEBw2t8Pgpr9QxU97sVG0XVkaIsann+\n\
K8DpeXKzKKnpWQ+q2wjZpFGkAH9dVFrru8q2SRIbPE/C0Xn5xOIdVNJKB+7uE8r1\n\
FHHUwt0a1ENsochLfgE3/mGaeysMYmFVps9etzKKgwoOmkGD6knSuYVZBn3eENKY\n\
Vnn3sfBt+6IvhC9rp2Wuqicv8QTu4aSzGgMud5oeHXR/DxK1CeNTgVeHaF/8LUpn\n\
DFcYb8gMyn6jmkUAsyWY0c6BKuxgjdTfkKPQYHuVLJ1WLUZlqto65NgmItt+oLqY\n\
BQMiEyPPr6XmRcUqRxO9kJZ7kIlahwg77WfzrPJ7ZwKBgQDBcRijTet8dhdOgz89\n\
yvRV4zBK4XswyvOaIh5udooyA0eLjSUbUuOwMUgrN/7CnAxfQFHk7dffTe9lwBCE\n\
qudkFZf5+aE6/zctx2fpPJqnFRW/74AoVIDAD5qRsuanSQX4dJinUlp3hZkjiLWL\n\
A+blX6C97UPgvgNkt44I2XLuIwKBgQC4TJ9pbdT99CtnKihPPbIHmyKQgaac3M2e\n\
FzthMsirMXfpT+x7cyTb4Qde1551WDnNnVp1cWhOigBoVIDWPKOYfQFT6pr8niiL\n\
0+gv4+mese6HFmdIY3O2bhq4gHhGmuOwHOauebgNsh/dL5zp+Zc8SImBmOzNKV5r\n\
w7yvXJqnXwKBgE37fec3nltKcBLirjgG/YEyWWGWjMcayiG053e4qfWHhOwpNnBR\n\
diCtfV6O8FEb/5DWqS0VBRWsoXnvd7lD/IxIeD/59pmGEYSPAsDwAZih02bQ8mVP\n\
y6ehorph2MJPmeyTdIbfmEDexuGgVy93nzmQ14g5gkez0kJkDQpcPwzpAoGBAJn8\n\
AzFOgChTKzR+J8HVdXsfZmjAutnTLsVI+ecDTGCk62B308ltcj14rfTTSOUYeutN\n\
7rezsof0i9Sfzimx7qpIv6RCn440AwKZYiUpUxex6O7bjB4SYirpoc/IHzY20chi\n\
zWa38k0XJ8JhtsRTMsY+gQ1UHX5pcyetGmiWge0XAoGBAJEf7cEgQ7Xm5HaJDKXq\n\
YaWWiM7WSSSx+WR6JBoy/QU5nHw3Jw9zJxz7O6D3+10twJR99Q1nj4LOCNalcLD0\n\
ymqAw0Kg3mlKh5hxjGJ/q3oO0EOkzHG7J/yvKykgnJHg9Tj9tUsNjQoHp64JaUj7\n\
VKOx5V7RtUPwBD1EPDRAYuE1\n\
-----END PRIVATE KEY-----";
    pub const FORGER_CERT: &str = "-----BEGIN CERTIFICATE-----\n\
MIICvjCCAaagAwIBAgIUeY8hxy2YCNRgk4k9sn0g5z1R03kwDQYJKoZIhvcNAQEL\n\
BQAwGTEXMBUGA1UEAwwOZm9yZ2VyLmV4YW1wbGUwHhcNMTAwMTAxMDAwMDAwWhcN\n\
NDkxMjMxMDAwMDAwWjAZMRcwFQYDVQQDDA5mb3JnZXIuZXhhbXBsZTCCASIwDQYJ\n\
KoZIhvcNAQEBBQADggEPADCCAQoCggEBALJgdX0Torf4eHBKvHkr2RAkRcRbG2Aj\n\
S47Q7BxWHBYKvWyPeO1IeOVo9k8r3D9H7eM21C8fqSiGEKfeiMfHDMZA3xVcjP0S\n\
f3VSGuJGlsss65jNsMWgEuOS/sDIIu5WRPadMHJUdFCSsF9b4ftZoyMAmK+3zWw2\n\
bSLduCQPLdIfL/3pBJDFW6hyXOzw32vzNbjelz8NZwlAC9xj05kiWhe7n+T6Fwh9\n\
nvIC11AGZys87sT8+WFVHw9/BsuL18fHF7Jtb4CO0ZiQ1NnYrkM4RR0e8QlwA0U4\n\
kiCTsGpSrKg/kyy7/Gd3L1oipmVNuPSVjH/niBkfhqaoiXUqZFB1U78CAwEAATAN\n\
BgkqhkiG9w0BAQsFAAOCAQEALFhPP6JtnVVyAv5BfWXbT98BTW+Y0mAeMZ6GPxyT\n\
54DMbxe2hSu8NYj09ZvFFn+z7L+6Uc+q4dVCmJCqdNxHV7dNCfTHmRdJ4tqnAlEE\n\
YV7W1l5EQe/tDnZyjGeUyunXbcoNs4Jyl1I53vqzLuq1hwDFBBXBP88rIktjIBPw\n\
hLEpsrsE6Z3Z7HCqWhtsvoTLTb13t7xblvXFDukHwnUw3N5sy+WvAlRIpwGUc+ig\n\
cqjNwKIymNcS4Lbb5W4Fvri2R747CUuKndD833F+m3uxxB3L2QocE8hW0V51r35g\n\
g6y7IW3AtYRhkshl4GL74AqbicAck+qh2zMeqBHaZCaHpA==\n\
-----END CERTIFICATE-----";
    pub const FORGER_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCyYHV9E6K3+Hhw\n\
Srx5K9kQJEXEWxtgI0uO0OwcVhwWCr1sj3jtSHjlaPZPK9w/R+3jNtQvH6kohhCn\n\
3ojHxwzGQN8VXIz9En91UhriRpbLLOuYzbDFoBLjkv7AyCLuVkT2nTByVHRQkrBf\n\
W+H7WaMjAJivt81sNm0i3bgkDy3SHy/96QSQxVuoclzs8N9r8zW43pc/DWcJQAvc\n\
Y9OZIloXu5/k+hcIfZ7yAtdQBmcrPO7E/PlhVR8PfwbLi9fHxxeybW+AjtGYkNTZ\n\
2K5DOEUdHvEJcANFOJIgk7BqUqyoP5Msu/xndy9aIqZlTbj0lYx/54gZH4amqIl1\n\
KmRQdVO/AgMBAAECggEAHR/Tvw7QMCKRI6CIQm6O2+xYOdW4VAufQBvLmVrT7iNl\n\
x05rq658EtT+9nFOXkSzyjf/EAym1XeCS65xfdD5vHsGEZpRaNa22eSEgDKPV3An\n\
rYTUGohm3SJ4luh2j5ylWPDUYq54aVlyE7fQX3ZExSfJRlOH5mXCjwFNmhGiZR6t\n\
ULkCYbhlKISTm9d0gCDd8GrhjGvgI9MRUuYirJsGEkvfsFldd61XZOZ0HjYhks61\n\
GQ+U28OQSgEguikNj3AI5RMHJrA3xSDoUj1T5ulbAzQee2f4nV7BI2oPFr7ZaUUj\n\
Yb5uIpE9PQzXRkPduGbU07m2xiInTvk7sSLtRAOjaQKBgQDtRKHS9f5rNZPYeLmW\n\
qX0uxdhZF6O0WG6HpqQVWPI35j9/vCOkakDfrlHpt0Cx6qMlgBrMoJzOvBeoxDe4\n\
XicZNq9c3iiqjjFWfgKCZPX+ANekR2zQozgdFWsWgTDkeP9ie/rpiLDZAHPANbcM\n\
kKsKpCqvqHMdaBRdyyPGOXvF9wKBgQDAdZbJa+pEIBkd0kvHbIE+9fiqqqBjFyML\n\
2Tk0QzvN5qbLbUuVp2qxElbdhxw/JwTlkJxp/YNVIgbBlPoB2sWVNvNVneFpGUL0\n\
DMaa91AxA99tyNT85B6EhLlp739MLtrVAQxLRXjW+75GTGnsdvJKAZKbglG6Z2qQ\n\
BFk3x5jOeQKBgEd1di9tOxTa7A40PeDsZvFhUMl0Xy9/urpMK/rp8Pl49QLpjOqF\n\
vcggXjc/o9Jx0nUG4gtjDBcPeyivAAEdCjWDzMjxd9n2PVHJXcQb2CKJ6mhlwpYL\n\
smi//KKogistbe0hXe5b5rdUdYgcJWc5Yuovi1OgLhtbL1cYSUv4IBj9AoGBAIy+\n\
sanVcHmnm5aSbvaFJDOd/98Xbrlodym4Drxomril/75uzELCLyUVS08v+nk4mL0l\n\
Ny3Pxpagjp5My1RF4A6SI/utvOV2It+E5Ez5pbxin6eSoifaz3KL+Wg+TDKzZTc2\n\
T/5P7OITMgAI68GQ7vkuE0AEWq5d6LEvbOt83QPJAoGAW7/sbahWlg+kRWqh+k9w\n\
RjfBsBsgBjwYX8aTuCXQ5mOMB7eZ8eNWEQq9NR1HDpKqmxw3GkE5hbJCkY/5RSfN\n\
1JGDW4Tg5Zo2NVpPCdJOTq3qXfu11LCUhL/it5g/XkQXe2uFpbhtQm0dYatU0BY0\n\
cbWjv5mce2kkvVXPFjqdkjM=\n\
-----END PRIVATE KEY-----";

    /// One request through a pipeline for `scheme` with `secrets` and the key port `keys`, at
    /// `now`: the reply and the envelopes queued.
    pub fn deliver(
        scheme: &'static crate::core::scheme::Scheme,
        secrets: &[&str],
        keys: std::sync::Arc<crate::ports::fetched::MemoryKeys>,
        headers: &[(&str, &str)],
        body: &[u8],
        now: u64,
    ) -> (crate::Reply, Vec<serde_json::Value>) {
        use std::time::{Duration, UNIX_EPOCH};
        let source: &'static crate::Source =
            Box::leak(Box::new(crate::Source::new(scheme.name, scheme)));
        let set = crate::core::verify::SecretSet::new(
            secrets
                .iter()
                .map(|s| {
                    let key = source.decode_secret(s).expect("secret");
                    crate::core::verify::Secret::new("WEBHOOK_SECRET", key)
                })
                .collect(),
        )
        .expect("secrets");
        let queue = crate::ports::queue::MemoryQueue::default();
        let pipeline = crate::Pipeline::new(source, set, crate::config::Settings::default(), queue)
            .with_keys(keys);
        let h = crate::core::verify::testing::headers(headers);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let reply = runtime.block_on(pipeline.handle(
            crate::Inbound::post(&h, body),
            UNIX_EPOCH + Duration::from_secs(now),
            tokio::time::Instant::now() + Duration::from_secs(5),
        ));
        let queued = pipeline
            .queue()
            .messages()
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("envelope"))
            .collect();
        (reply, queued)
    }

    /// `msg` signed with RSA PKCS#1 v1.5 under `hash` by the PKCS#8 PEM `key`, in base64.
    pub fn rsa_sign(key: &str, hash: crate::core::scheme::Hash, msg: &[u8]) -> String {
        use base64::Engine;
        let (_, der) = x509_cert::der::pem::decode_vec(key.as_bytes()).expect("PEM key");
        let sig = super::super::keys::sign(
            super::super::keys::Asym::RsaPkcs1v15(hash),
            &der,
            msg,
            false,
        )
        .expect("signs");
        base64::engine::general_purpose::STANDARD.encode(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNS: &[HostRule] = &[HostRule::Label {
        prefix: "sns.",
        suffix: ".amazonaws.com",
    }];

    fn sns(url: &str) -> Result<CheckedUrl, UrlRefused> {
        check_url(url, SNS, |p| p.ends_with(".pem"))
    }

    #[test]
    fn only_the_documented_hosts_over_https_pass() {
        let ok = sns("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
            .expect("an SNS certificate URL");
        assert_eq!(
            ok.url(),
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
        );
        assert_eq!(
            sns("HTTPS://SNS.US-EAST-1.AMAZONAWS.COM/a.pem").map(|u| u.url()),
            Ok("https://sns.us-east-1.amazonaws.com/a.pem".to_owned())
        );
        for (url, why) in [
            (
                "http://sns.us-east-1.amazonaws.com/a.pem",
                UrlRefused::NotHttps,
            ),
            ("//sns.us-east-1.amazonaws.com/a.pem", UrlRefused::NotHttps),
            (
                "ftp://sns.us-east-1.amazonaws.com/a.pem",
                UrlRefused::NotHttps,
            ),
            (
                "https://sns.us-east-1.amazonaws.com.evil.com/a.pem",
                UrlRefused::Host,
            ),
            (
                "https://sns.us-east-1.amazonaws.com./a.pem",
                UrlRefused::Host,
            ),
            (
                "https://evil.com/sns.us-east-1.amazonaws.com/a.pem",
                UrlRefused::Host,
            ),
            (
                "https://sns.us-east-1.amazonaws.com@evil.com/a.pem",
                UrlRefused::UserInfo,
            ),
            (
                "https://user:pw@sns.us-east-1.amazonaws.com/a.pem",
                UrlRefused::UserInfo,
            ),
            (
                "https://sns.us-east-1.amazonaws.com:8443/a.pem",
                UrlRefused::Port,
            ),
            (
                "https://sns.us-east-1.amazonaws.com:443/a.pem",
                UrlRefused::Port,
            ),
            ("https://127.0.0.1/a.pem", UrlRefused::Host),
            ("https://[::1]/a.pem", UrlRefused::Host),
            ("https://169.254.169.254/latest/meta-data", UrlRefused::Host),
            ("https://sns.x.amazonaws.com/a.pem", UrlRefused::Host),
            ("https://sns.us_east.amazonaws.com/a.pem", UrlRefused::Host),
            ("https://sns.a.b.amazonaws.com/a.pem", UrlRefused::Host),
            (
                "https://sns.us-east-1.amazonaws%2ecom/a.pem",
                UrlRefused::Host,
            ),
            (
                "https://sns.us-east-1.amazonaws.com\\@evil.com/a.pem",
                UrlRefused::Syntax,
            ),
            (
                "https://sns.us-east-1.amazonaws.com /a.pem",
                UrlRefused::Syntax,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/a.txt",
                UrlRefused::Path,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/../x/a.pem",
                UrlRefused::Path,
            ),
            ("https://sns.us-east-1.amazonaws.com", UrlRefused::Path),
        ] {
            assert_eq!(sns(url), Err(why), "{url}");
        }
        let long = format!(
            "https://sns.us-east-1.amazonaws.com/{}.pem",
            "a".repeat(MAX_URL_BYTES)
        );
        assert_eq!(sns(&long), Err(UrlRefused::Syntax));
    }

    #[test]
    fn exact_hosts_match_only_themselves() {
        let hosts = [HostRule::Exact("api.paypal.com")];
        assert!(check_url(
            "https://api.paypal.com/v1/notifications/certs/C",
            &hosts,
            |_| true
        )
        .is_ok());
        for url in [
            "https://api.paypal.com.evil.com/c",
            "https://xapi.paypal.com/c",
            "https://evil.com/c?api.paypal.com",
        ] {
            assert_eq!(
                check_url(url, &hosts, |_| true),
                Err(UrlRefused::Host),
                "{url}"
            );
        }
    }

    #[test]
    fn a_certificate_is_used_only_while_valid() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |unix: u64| UNIX_EPOCH + Duration::from_secs(unix);
        let chain = format!("{}\n{}\n", fixtures::SIGNER_CERT, fixtures::FORGER_CERT);
        let key = certificate_key(chain.as_bytes(), at(1_700_000_000)).expect("the leaf's key");
        let signer = certificate_key(fixtures::SIGNER_CERT.as_bytes(), at(1_700_000_000));
        assert_eq!(Some(key), signer, "the first certificate is the one used");
        assert!(certificate_key(fixtures::SIGNER_CERT.as_bytes(), at(1_200_000_000)).is_none());
        assert!(certificate_key(fixtures::SIGNER_CERT.as_bytes(), at(2_600_000_000)).is_none());
        assert!(certificate_key(b"not a certificate", at(1_700_000_000)).is_none());
    }

    #[test]
    fn a_key_request_never_shows_its_body() {
        let url = check_url(
            "https://api.paypal.com/x",
            &[HostRule::Exact("api.paypal.com")],
            |_| true,
        )
        .expect("url");
        let req = KeyRequest {
            body: Some(b"{\"secret\":\"hunter2\"}".to_vec()),
            ..KeyRequest::get(url)
        };
        assert!(!format!("{req:?}").contains("hunter2"));
    }
}
