//! What the sender may connect to, decided without the network: a URL taken apart and checked
//! (scheme, userinfo, host, port), and whether an address is globally routable. The client
//! connects only to an address [`vet`] passed; the name is resolved by the client, once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What is allowed beyond sending over HTTPS to globally routable addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Whether `http://` URLs are sent to (default: HTTPS only).
    pub allow_http: bool,
    /// Ranges let through although they are not globally routable: a private network the
    /// operator names (a VPC's subscribers), or loopback in tests.
    pub allow_networks: Vec<IpNet>,
}

impl Policy {
    /// Whether `ip` is in one of [`Policy::allow_networks`].
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_networks.iter().any(|net| net.contains(&ip))
    }
}

/// A range of addresses the sender refuses, as the registry names it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub net: IpNet,
    /// The range and what it is, e.g. `10.0.0.0/8 private-use (RFC 1918)`.
    pub name: &'static str,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str) -> Rule {
    Rule {
        net: IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)),
        name,
    }
}

const fn v6(segments: [u16; 8], len: u8, name: &'static str) -> Rule {
    let [a, b, c, d, e, f, g, h] = segments;
    Rule {
        net: IpNet::V6(Ipv6Net::new_assert(
            Ipv6Addr::new(a, b, c, d, e, f, g, h),
            len,
        )),
        name,
    }
}

/// IPv4 ranges that are not globally routable: every row of IANA's IPv4 Special-Purpose Address
/// Registry whose "Globally Reachable" is False (RFC 6890, as updated), plus multicast (IANA's
/// IPv4 Multicast Address Space Registry) and the reserved 240.0.0.0/4. Where the registry marks
/// a few /32s inside a refused block as global (192.0.0.9 and 192.0.0.10, anycast services), they
/// are refused with the block: no webhook endpoint lives there. More specific rows come first, so
/// a refusal names the narrowest range. Everything else in IPv4 is public.
pub static V4_NOT_GLOBAL: [Rule; 16] = [
    v4(0, 0, 0, 0, 8, "0.0.0.0/8 \"this network\" (RFC 791)"),
    v4(10, 0, 0, 0, 8, "10.0.0.0/8 private-use (RFC 1918)"),
    v4(
        100,
        64,
        0,
        0,
        10,
        "100.64.0.0/10 shared address space (RFC 6598)",
    ),
    v4(127, 0, 0, 0, 8, "127.0.0.0/8 loopback (RFC 1122)"),
    v4(
        169,
        254,
        0,
        0,
        16,
        "169.254.0.0/16 link-local, where cloud metadata services answer (RFC 3927)",
    ),
    v4(172, 16, 0, 0, 12, "172.16.0.0/12 private-use (RFC 1918)"),
    v4(
        192,
        0,
        0,
        0,
        24,
        "192.0.0.0/24 IETF protocol assignments (RFC 6890)",
    ),
    v4(192, 0, 2, 0, 24, "192.0.2.0/24 documentation (RFC 5737)"),
    v4(
        192,
        88,
        99,
        0,
        24,
        "192.88.99.0/24 6to4 relay anycast, deprecated (RFC 7526)",
    ),
    v4(192, 168, 0, 0, 16, "192.168.0.0/16 private-use (RFC 1918)"),
    v4(198, 18, 0, 0, 15, "198.18.0.0/15 benchmarking (RFC 2544)"),
    v4(
        198,
        51,
        100,
        0,
        24,
        "198.51.100.0/24 documentation (RFC 5737)",
    ),
    v4(
        203,
        0,
        113,
        0,
        24,
        "203.0.113.0/24 documentation (RFC 5737)",
    ),
    v4(224, 0, 0, 0, 4, "224.0.0.0/4 multicast (RFC 5771)"),
    v4(
        255,
        255,
        255,
        255,
        32,
        "255.255.255.255/32 limited broadcast (RFC 919)",
    ),
    v4(240, 0, 0, 0, 4, "240.0.0.0/4 reserved (RFC 1112)"),
];

/// IPv6 ranges that are not globally routable: IANA's IPv6 Special-Purpose Address Registry rows
/// whose "Globally Reachable" is False, and the deprecated site-local and IPv4-compatible blocks
/// and multicast (IANA's IPv6 Address Space). Two rows are left to [`not_global`], which vets the
/// IPv4 address they embed: 64:ff9b::/96 (NAT64, RFC 6052) and 2002::/16 (6to4, RFC 3056). The
/// well-known exceptions inside 2001::/23 (PCP and TURN anycast, AMT, AS112, ORCHIDv2) are refused
/// with the block. After this table, anything outside 2000::/3 (the only space IANA allocates for
/// global unicast) is refused too: [`OUTSIDE_GLOBAL_UNICAST`].
pub static V6_NOT_GLOBAL: [Rule; 17] = [
    v6(
        [0, 0, 0, 0, 0, 0, 0, 0],
        128,
        "::/128 unspecified (RFC 4291)",
    ),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "::1/128 loopback (RFC 4291)"),
    // Never accepted, whatever the IPv4 address inside: on the wire it is not an IPv6 address at
    // all (a dual-stack socket turns it into an IPv4 connection), no legitimate AAAA record
    // holds one, and vetting the embedded address would make two spellings of every IPv4
    // address a caller has to get right. The IPv4 address can be written as itself.
    v6(
        [0, 0, 0, 0, 0, 0xffff, 0, 0],
        96,
        "::ffff:0.0.0.0/96 IPv4-mapped (RFC 4291), refused whatever it embeds",
    ),
    v6(
        [0, 0, 0, 0, 0, 0, 0, 0],
        96,
        "::/96 IPv4-compatible, deprecated (RFC 4291)",
    ),
    v6(
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        // Local-use translation: where the IPv4 address sits depends on the operator's prefix
        // length, so it cannot be vetted; the registry marks the block not global.
        "64:ff9b:1::/48 local-use IPv4/IPv6 translation (RFC 8215)",
    ),
    v6(
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        "100::/64 discard-only (RFC 6666)",
    ),
    v6(
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        32,
        "2001::/32 Teredo (RFC 4380)",
    ),
    v6(
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "2001::/23 IETF protocol assignments (RFC 2928)",
    ),
    v6(
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "2001:db8::/32 documentation (RFC 3849)",
    ),
    v6(
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "3fff::/20 documentation (RFC 9637)",
    ),
    v6(
        [0x5f00, 0, 0, 0, 0, 0, 0, 0],
        16,
        "5f00::/16 segment routing SIDs (RFC 9602)",
    ),
    v6(
        [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254],
        128,
        "fd00:ec2::254/128 the EC2 metadata service over IPv6 (in fc00::/7)",
    ),
    v6(
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "fc00::/7 unique-local (RFC 4193)",
    ),
    v6(
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        "fe80::/10 link-local (RFC 4291)",
    ),
    v6(
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "fec0::/10 site-local, deprecated (RFC 3879)",
    ),
    v6(
        [0xff00, 0, 0, 0, 0, 0, 0, 0],
        8,
        "ff00::/8 multicast (RFC 4291)",
    ),
    v6(
        [0x2002, 0, 0, 0, 0, 0, 0, 0],
        16,
        // Only reached when the IPv4 address inside cannot be read (never: every 2002::/16
        // address has one); kept so the table lists every block it knows.
        "2002::/16 6to4 (RFC 3056)",
    ),
];

/// NAT64's well-known prefix: the last 32 bits are the IPv4 address the translator connects to.
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// 6to4: bits 16 to 48 are the IPv4 address the packets are tunnelled to.
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);
const GLOBAL_UNICAST: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// IPv6 addresses outside 2000::/3 that no row above names: reserved or unallocated.
pub static OUTSIDE_GLOBAL_UNICAST: Rule = Rule {
    net: IpNet::V6(GLOBAL_UNICAST),
    name: "outside 2000::/3, the IPv6 global unicast space (RFC 4291)",
};

/// The range that makes `ip` not globally routable, or `None` for a public address. An IPv6
/// address that embeds an IPv4 one the network will deliver to (NAT64's 64:ff9b::/96, 6to4's
/// 2002::/16) is as routable as the IPv4 address it embeds.
pub fn not_global(ip: IpAddr) -> Option<&'static Rule> {
    match ip {
        IpAddr::V4(v4) => not_global_v4(v4),
        IpAddr::V6(v6) => {
            if NAT64.contains(&v6) {
                let [.., a, b, c, d] = v6.octets();
                return not_global_v4(Ipv4Addr::new(a, b, c, d));
            }
            if SIX_TO_FOUR.contains(&v6) {
                let [_, _, a, b, c, d, ..] = v6.octets();
                return not_global_v4(Ipv4Addr::new(a, b, c, d));
            }
            V6_NOT_GLOBAL
                .iter()
                .find(|rule| rule.net.contains(&ip))
                .or_else(|| (!GLOBAL_UNICAST.contains(&v6)).then_some(&OUTSIDE_GLOBAL_UNICAST))
        }
    }
}

fn not_global_v4(ip: Ipv4Addr) -> Option<&'static Rule> {
    V4_NOT_GLOBAL
        .iter()
        .find(|rule| rule.net.contains(&IpAddr::V4(ip)))
}

/// `ip` if the sender may connect to it: globally routable, or in a range the policy allows.
pub fn vet(ip: IpAddr, policy: &Policy) -> Result<IpAddr, Refusal> {
    if policy.allows(ip) {
        return Ok(ip);
    }
    match not_global(ip) {
        Some(rule) => Err(Refusal::NotGlobal { address: ip, rule }),
        None => Ok(ip),
    }
}

/// Why the sender will not send to a URL or an address. Nothing is connected to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the scheme is neither https nor http")]
    Scheme,
    #[error("plain http is not allowed: the endpoint must use https")]
    PlainHttp,
    #[error("the URL carries a user name or password")]
    UserInfo,
    #[error("{address} is not globally routable: {rule}")]
    NotGlobal {
        address: IpAddr,
        rule: &'static Rule,
    },
}

/// What is wrong with a URL that is not one at all, or not one with a host Inlet can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUrl {
    #[error("it is not an absolute URL")]
    Syntax,
    #[error("it has no host")]
    EmptyHost,
    #[error("its host is neither a DNS name nor an IP address")]
    Host,
    #[error("its host ends in a number: write an IPv4 address as four decimal numbers")]
    NumericHost,
    #[error("its port is not a number from 0 to 65535")]
    Port,
}

/// A URL [`Target::parse`] turned down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the URL is not valid: {0}")]
    Invalid(#[from] InvalidUrl),
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// A URL's host: a DNS name (lower-cased) for the client to resolve, or an address to vet as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A URL the sender may send to, taken apart. Its address is not vetted yet: a name is vetted
/// once resolved, an IP literal by [`vet`] before anything is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    pub host: Host,
    pub port: u16,
    /// What the request line carries: `/path?query`, at least `/`.
    pub path_and_query: String,
}

/// The longest DNS name, without its trailing dot (RFC 1035).
const MAX_NAME: usize = 253;
const MAX_LABEL: usize = 63;

impl Target {
    /// Parses `url` and applies the policy's URL rules: `https` (or `http` if allowed), no
    /// userinfo, a host that is a DNS name or an IP address, any port. The fragment is dropped.
    pub fn parse(url: &str, policy: &Policy) -> Result<Target, Rejection> {
        let uri: ::http::Uri = url.parse().map_err(|_| InvalidUrl::Syntax)?;
        let scheme = match uri.scheme_str() {
            None => return Err(InvalidUrl::Syntax.into()),
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(_) => return Err(Refusal::Scheme.into()),
        };
        let authority = uri.authority().map_or("", |a| a.as_str());
        if authority.contains('@') {
            return Err(Refusal::UserInfo.into());
        }
        if scheme == Scheme::Http && !policy.allow_http {
            return Err(Refusal::PlainHttp.into());
        }
        let (host, port) = split_authority(authority)?;
        let port = match port {
            None | Some("") => scheme.default_port(),
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| InvalidUrl::Port)?
            }
            Some(_) => return Err(InvalidUrl::Port.into()),
        };
        let path_and_query = match uri.path_and_query().map_or("", |p| p.as_str()) {
            p if p.starts_with('/') => p.to_owned(),
            p => format!("/{p}"),
        };
        Ok(Target {
            scheme,
            host,
            port,
            path_and_query,
        })
    }

    /// The `Host` header's value: the host as the URL names it (an IPv6 address in brackets),
    /// with the port unless it is the scheme's default.
    pub fn authority(&self) -> String {
        let host = match &self.host {
            Host::Name(name) => name.clone(),
            Host::Ip(IpAddr::V4(ip)) => ip.to_string(),
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]"),
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// `host[:port]` or `[v6][:port]` into the host and the port's text, if any.
fn split_authority(authority: &str) -> Result<(Host, Option<&str>), InvalidUrl> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or(InvalidUrl::Host)?;
        // A zone (`%25eth0`) does not parse: link-local addresses are refused anyway.
        let ip: Ipv6Addr = inner.parse().map_err(|_| InvalidUrl::Host)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(InvalidUrl::Port)?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(InvalidUrl::EmptyHost);
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(ip)), port));
    }
    Ok((Host::Name(dns_name(host)?), port))
}

/// `host` lower-cased if it is a DNS name: labels of letters, digits, `-` and `_` (which some
/// hosts' names have), at most 63 bytes each and 253 in all, an optional trailing dot. A name
/// whose last label is a number (`127.1`, `0x7f000001`, `2130706433`) is an IPv4 address in a
/// form the system resolver would read as one and browsers read differently: refused, so that
/// what is vetted and what is connected to can never be two readings of one string.
fn dns_name(host: &str) -> Result<String, InvalidUrl> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(InvalidUrl::Host);
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty()
            || label.len() > MAX_LABEL
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InvalidUrl::Host);
        }
        last = label;
    }
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if hex || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidUrl::NumericHost);
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One address in (or at the edge of) each range the task lists, and the rule expected.
    pub(crate) const NOT_GLOBAL: &[(&str, &str)] = &[
        ("0.0.0.0", "0.0.0.0/8"),
        ("0.255.255.255", "0.0.0.0/8"),
        ("10.0.0.1", "10.0.0.0/8"),
        ("10.255.255.255", "10.0.0.0/8"),
        ("100.64.0.1", "100.64.0.0/10"),
        ("100.127.255.254", "100.64.0.0/10"),
        ("127.0.0.1", "127.0.0.0/8"),
        ("127.255.255.254", "127.0.0.0/8"),
        ("169.254.169.254", "169.254.0.0/16"),
        ("169.254.0.1", "169.254.0.0/16"),
        ("172.16.0.1", "172.16.0.0/12"),
        ("172.31.255.255", "172.16.0.0/12"),
        ("192.0.0.9", "192.0.0.0/24"),
        ("192.0.0.170", "192.0.0.0/24"),
        ("192.0.2.1", "192.0.2.0/24"),
        ("192.88.99.1", "192.88.99.0/24"),
        ("192.168.0.1", "192.168.0.0/16"),
        ("192.168.255.255", "192.168.0.0/16"),
        ("198.18.0.1", "198.18.0.0/15"),
        ("198.19.255.255", "198.18.0.0/15"),
        ("198.51.100.7", "198.51.100.0/24"),
        ("203.0.113.7", "203.0.113.0/24"),
        ("224.0.0.1", "224.0.0.0/4"),
        ("239.255.255.250", "224.0.0.0/4"),
        ("240.0.0.1", "240.0.0.0/4"),
        ("255.255.255.254", "240.0.0.0/4"),
        ("255.255.255.255", "255.255.255.255/32"),
        ("::", "::/128"),
        ("::1", "::1/128"),
        ("::ffff:127.0.0.1", "::ffff:0.0.0.0/96"),
        ("::ffff:169.254.169.254", "::ffff:0.0.0.0/96"),
        ("::ffff:8.8.8.8", "::ffff:0.0.0.0/96"),
        ("::127.0.0.1", "::/96"),
        ("::8.8.8.8", "::/96"),
        ("64:ff9b::7f00:1", "127.0.0.0/8"),
        ("64:ff9b::a9fe:a9fe", "169.254.0.0/16"),
        ("64:ff9b::10.1.2.3", "10.0.0.0/8"),
        ("64:ff9b:1::808:808", "64:ff9b:1::/48"),
        ("100::1", "100::/64"),
        ("2001::1", "2001::/32"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32"),
        ("2001:1::1", "2001::/23"),
        ("2001:1ff:ffff::1", "2001::/23"),
        ("2001:db8::1", "2001:db8::/32"),
        ("2002:7f00:1::1", "127.0.0.0/8"),
        ("2002:a9fe:a9fe::1", "169.254.0.0/16"),
        ("2002:c0a8:101::1", "192.168.0.0/16"),
        ("3fff::1", "3fff::/20"),
        ("5f00::1", "5f00::/16"),
        ("fc00::1", "fc00::/7"),
        ("fd12:3456::1", "fc00::/7"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("fe80::1", "fe80::/10"),
        ("febf::1", "fe80::/10"),
        ("fec0::1", "fec0::/10"),
        ("ff02::1", "ff00::/8"),
        ("1::1", "outside 2000::/3"),
        ("4000::1", "outside 2000::/3"),
    ];

    const GLOBAL: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "93.184.215.14",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.1",
        "192.167.255.255",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "2606:4700:4700::1111",
        "2a00:1450:4007:80e::200e",
        "2001:200::1",
        "2001:db7:ffff::1",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ];

    #[test]
    fn every_listed_range_is_not_global_and_named() {
        for (address, rule) in NOT_GLOBAL {
            let ip: IpAddr = address.parse().expect(address);
            let found = not_global(ip).unwrap_or_else(|| panic!("{address} passed"));
            assert!(found.name.starts_with(rule), "{address}: {}", found.name);
            assert!(matches!(
                vet(ip, &Policy::default()),
                Err(Refusal::NotGlobal { address: a, .. }) if a == ip
            ));
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in GLOBAL {
            let ip: IpAddr = address.parse().expect(address);
            assert_eq!(not_global(ip), None, "{address}");
            assert_eq!(vet(ip, &Policy::default()), Ok(ip));
        }
    }

    #[test]
    fn each_rule_is_named_after_its_range() {
        for rule in V4_NOT_GLOBAL.iter().chain(&V6_NOT_GLOBAL) {
            assert!(
                rule.name.starts_with(&format!("{} ", rule.net)),
                "{} / {}",
                rule.net,
                rule.name
            );
        }
    }

    #[test]
    fn allowed_networks_let_only_themselves_through() {
        let policy = Policy {
            allow_http: false,
            allow_networks: vec![
                "127.0.0.0/8".parse().expect("net"),
                "::1/128".parse().expect("net"),
            ],
        };
        for ok in ["127.0.0.1", "127.9.9.9", "::1"] {
            let ip: IpAddr = ok.parse().expect(ok);
            assert_eq!(vet(ip, &policy), Ok(ip), "{ok}");
        }
        // The same loopback in another spelling is not in the allowed network.
        for refused in ["::ffff:127.0.0.1", "64:ff9b::7f00:1", "10.0.0.1", "::2"] {
            let ip: IpAddr = refused.parse().expect(refused);
            assert!(vet(ip, &policy).is_err(), "{refused}");
        }
    }

    fn parse(url: &str) -> Result<Target, Rejection> {
        Target::parse(url, &Policy::default())
    }

    #[test]
    fn urls_are_taken_apart() {
        let cases: &[(&str, Host, u16, &str, &str)] = &[
            (
                "https://Hooks.Example.com/in?token=x",
                Host::Name("hooks.example.com".into()),
                443,
                "/in?token=x",
                "hooks.example.com",
            ),
            (
                "HTTPS://hooks.example.com:8443",
                Host::Name("hooks.example.com".into()),
                8443,
                "/",
                "hooks.example.com:8443",
            ),
            (
                "https://hooks.example.com.:443/a#frag",
                Host::Name("hooks.example.com.".into()),
                443,
                "/a",
                "hooks.example.com.",
            ),
            (
                "https://hooks.example.com?x=1",
                Host::Name("hooks.example.com".into()),
                443,
                "/?x=1",
                "hooks.example.com",
            ),
            (
                "https://8.8.8.8:0/",
                Host::Ip("8.8.8.8".parse().expect("ip")),
                0,
                "/",
                "8.8.8.8:0",
            ),
            (
                "https://[2606:4700::1111]:8443/x",
                Host::Ip("2606:4700::1111".parse().expect("ip")),
                8443,
                "/x",
                "[2606:4700::1111]:8443",
            ),
            (
                "https://[::1]",
                Host::Ip("::1".parse().expect("ip")),
                443,
                "/",
                "[::1]",
            ),
            (
                "https://my_host.example.com:/",
                Host::Name("my_host.example.com".into()),
                443,
                "/",
                "my_host.example.com",
            ),
        ];
        for (url, host, port, path, authority) in cases {
            let target = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(&target.host, host, "{url}");
            assert_eq!(target.port, *port, "{url}");
            assert_eq!(target.path_and_query, *path, "{url}");
            assert_eq!(target.authority(), *authority, "{url}");
        }
    }

    #[test]
    fn urls_that_are_turned_down() {
        use InvalidUrl::*;
        let long = format!("https://{}.com/", "a.".repeat(130));
        let label = format!("https://{}.com/", "a".repeat(64));
        let cases: Vec<(&str, Rejection)> = vec![
            ("http://hooks.example.com/", Refusal::PlainHttp.into()),
            ("ftp://hooks.example.com/", Refusal::Scheme.into()),
            ("file:///etc/passwd", Syntax.into()),
            ("gopher://127.0.0.1:6379/", Refusal::Scheme.into()),
            (
                "https://user:pass@hooks.example.com/",
                Refusal::UserInfo.into(),
            ),
            ("https://user@hooks.example.com/", Refusal::UserInfo.into()),
            ("https://@hooks.example.com/", Refusal::UserInfo.into()),
            (
                "https://hooks.example.com@127.0.0.1/",
                Refusal::UserInfo.into(),
            ),
            ("/relative", Syntax.into()),
            ("hooks.example.com", Syntax.into()),
            ("", Syntax.into()),
            ("https://", Syntax.into()),
            ("https:///path", Syntax.into()),
            ("https://:443/", EmptyHost.into()),
            ("https://hooks.example.com:99999/", Port.into()),
            ("https://hooks.example.com:+80/", Port.into()),
            ("https://hooks.example.com:80x/", Port.into()),
            ("https://[::1/", Syntax.into()),
            ("https://[fe80::1%25eth0]/", Host.into()),
            ("https://[::1]x/", Port.into()),
            ("https://[not-v6]/", Host.into()),
            ("https://127.1/", NumericHost.into()),
            ("https://2130706433/", NumericHost.into()),
            ("https://0x7f000001/", NumericHost.into()),
            ("https://0x7f.0.0.1/", NumericHost.into()),
            ("https://1.2.3.4.5/", NumericHost.into()),
            ("https://example.123/", NumericHost.into()),
            ("https://hooks..example.com/", Host.into()),
            ("https://.example.com/", Host.into()),
            ("https://hooks.example.com../", Host.into()),
            ("https://exa%6dple.com/", Syntax.into()),
            ("https://exa!mple.com/", Host.into()),
            ("https://bücher.example/", Syntax.into()),
            ("https://hooks example.com/", Syntax.into()),
            (&long, Host.into()),
            (&label, Host.into()),
        ];
        let mut wrong = Vec::new();
        for (url, expected) in cases {
            let got = parse(url);
            if got != Err(expected.clone()) {
                wrong.push(format!("{url}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn http_is_taken_when_allowed() {
        let policy = Policy {
            allow_http: true,
            ..Policy::default()
        };
        let target = Target::parse("http://hooks.example.com/x", &policy).expect("http");
        assert_eq!((target.scheme, target.port), (Scheme::Http, 80));
        assert_eq!(
            Target::parse("http://u:p@hooks.example.com/", &policy),
            Err(Refusal::UserInfo.into())
        );
    }

    #[test]
    fn rejections_never_quote_the_url() {
        for url in [
            "https://user:secret-token@hooks.example.com/?token=secret-token",
            "http://hooks.example.com/?token=secret-token",
            "https://127.1/?token=secret-token",
            "ftp://hooks.example.com/secret-token",
        ] {
            let message = parse(url).expect_err(url).to_string();
            assert!(!message.contains("secret-token"), "{message}");
        }
    }
}
