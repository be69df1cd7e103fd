//! Extractors whose rejections are problem+json, and the session extractor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;

use super::session_cookie_name;
use crate::domain::CurrentUser;
use crate::error::ApiError;
use crate::services::accounts;
use crate::state::AppState;

/// `axum::Json`, but a malformed, mistyped or oversized body is a problem+json 4xx:
/// 415 without a JSON content type, 413 over the size limit, 400 when the body is not
/// JSON, and 422 when it is JSON of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        // The same order as axum::Json: the content type before anything is read.
        if !json_content_type(req.headers()) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(ApiError::from_json_body_rejection)?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            // serde_json reports some type mismatches while reading the text (a number
            // where an enum's string belongs is "expected value"), which axum files as a
            // syntax error. Valid JSON of the wrong shape is the client's data, a 422.
            Err(JsonRejection::JsonSyntaxError(syntax)) => {
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                    return Err(JsonRejection::JsonSyntaxError(syntax).into());
                };
                serde_path_to_error::deserialize::<_, T>(value)
                    .map(ApiJson)
                    .map_err(|e| ApiError::json_data(e.to_string()))
            }
            Err(rejection) => Err(rejection.into()),
        }
    }
}

/// `application/json`, or any `application/*+json`, with or without parameters: what
/// axum::Json accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|mime| {
            mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        })
}

/// The raw request body, whatever its content type, with problem+json rejections (a
/// body over the route's limit is a 413).
pub struct RawBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(ApiError::from)
    }
}

/// `axum::extract::Path` with problem+json rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with problem+json rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The client's address: the peer of the connection, or, when that peer is one of
/// `QUOTIDIAN_TRUSTED_PROXIES`, the address those proxies wrote in `X-Forwarded-For`
/// (or `Forwarded`): read from the right, skipping our own proxies, so an entry the
/// client wrote itself is never believed.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(client_address(
            peer,
            &parts.headers,
            &state.config.server.trusted_proxies,
        )))
    }
}

/// See [`ClientIp`]. `X-Forwarded-For` wins when both headers are present.
pub fn client_address(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let mut hops: Vec<Option<IpAddr>> = values("x-forwarded-for")
        .iter()
        .map(|v| parse_hop(v))
        .collect();
    if hops.is_empty() {
        hops = values("forwarded")
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| parse_hop(v.trim().trim_matches('"')))
            })
            .collect();
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop {
            Some(ip) => client = ip,
            // "unknown", an obfuscated name or garbage: the trail ends at our proxy.
            None => break,
        }
    }
    client
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = raw.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    raw.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UserAgent(
            parts
                .headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        ))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(session_cookie_name(&state.config))
            .map(|c| c.value().to_owned())
            .ok_or_else(ApiError::unauthenticated)?;
        accounts::authenticate(state, &token)
            .await?
            .ok_or_else(ApiError::unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // Straight from the internet: the header is the client's own words.
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoofed, &trusted),
            ip("198.51.100.7")
        );
        // Without trusted proxies nothing is believed.
        assert_eq!(
            client_address(ip("10.1.1.1"), &spoofed, &[]),
            ip("10.1.1.1")
        );
        // Through our proxy: the entry it appended.
        assert_eq!(
            client_address(ip("10.1.1.1"), &spoofed, &trusted),
            ip("203.0.113.9")
        );
        // A client that prepends a fake entry gets the one our proxy wrote.
        let chain = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.2.2.2")]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
        // Several header lines are one list.
        let lines = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "198.51.100.8"),
        ]);
        assert_eq!(
            client_address(ip("10.1.1.1"), &lines, &trusted),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_too() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[(
            "forwarded",
            r#"for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https"#,
        )]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &unknown, &trusted),
            ip("10.0.0.1")
        );
    }
}
