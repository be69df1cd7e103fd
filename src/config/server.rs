//! The process itself: where it listens, what it serves, how it logs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use url::Url;

use super::reader::{Reader, list};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `QUOTIDIAN_BIND`: the public listener.
    pub bind: SocketAddr,
    /// `QUOTIDIAN_PUBLIC_URL`: base URL people reach the service at; links in emails
    /// start with it. `None` in tests until the port is known.
    pub public_url: Option<Url>,
    /// `QUOTIDIAN_METRICS_BIND`: serve `/metrics` on this address instead of the
    /// public listener.
    pub metrics_bind: Option<SocketAddr>,
    /// `QUOTIDIAN_WEB_DIR`: the built web page.
    pub web_dir: PathBuf,
    /// `QUOTIDIAN_TRUSTED_PROXIES`: proxies (addresses or CIDR ranges) whose
    /// `X-Forwarded-For` / `Forwarded` entries are believed; empty: the client is the
    /// peer of the connection.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `QUOTIDIAN_LOG_FORMAT`: `json` (true) or `pretty`.
    pub log_json: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            public_url: None,
            metrics_bind: None,
            web_dir: PathBuf::from("web/dist"),
            trusted_proxies: Vec::new(),
            log_json: true,
        }
    }
}

impl ServerConfig {
    pub(super) fn read(r: &mut Reader) -> Self {
        let d = Self::default();
        Self {
            bind: r.or("QUOTIDIAN_BIND", d.bind, |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "must be an address and port such as 127.0.0.1:8080".into())
            }),
            public_url: r.maybe("QUOTIDIAN_PUBLIC_URL", |v| {
                let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err("must be an http:// or https:// URL with a host".into());
                }
                Ok(url)
            }),
            log_json: r.or("QUOTIDIAN_LOG_FORMAT", d.log_json, |v| match v {
                "json" => Ok(true),
                "pretty" => Ok(false),
                _ => Err("must be json or pretty".into()),
            }),
            web_dir: r.or("QUOTIDIAN_WEB_DIR", d.web_dir, |v| Ok(v.into())),
            trusted_proxies: r.or("QUOTIDIAN_TRUSTED_PROXIES", d.trusted_proxies, |v| {
                list(v, |p| {
                    p.parse::<ipnet::IpNet>()
                        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            format!("'{p}' is not an IP address or CIDR range such as 10.0.0.0/8")
                        })
                })
            }),
            metrics_bind: r.maybe("QUOTIDIAN_METRICS_BIND", |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "must be an address and port such as 127.0.0.1:9090".into())
            }),
        }
    }

    /// The URL links in emails start with, without a trailing slash.
    pub fn public_base(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Cookies get `Secure` when people reach us over https.
    pub fn cookies_secure(&self) -> bool {
        self.public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https")
    }
}
