//! How a kiosk (and `kioskctl`) reaches the platform: HTTPS, or plain HTTP to loopback only
//! (the embedded demo, a TLS-terminating proxy on the same machine); the hall's private CA when
//! it has one; certificate verification is never turned off.

use std::sync::OnceLock;

/// Why a platform address or CA cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error(
        "{0:?} is not https:// : citizens' data never crosses a network in clear (http:// is \
         accepted for loopback only)"
    )]
    Cleartext(String),
    #[error("{0:?} is not an http(s) URL: {1}")]
    BadUrl(String, String),
    #[error("the CA file holds no PEM certificate: {0}")]
    BadCa(String),
    #[error("a different private CA was already set for this process")]
    CaAlreadySet,
}

/// Whether `url` may carry platform traffic: `https://` anywhere, `http://` to loopback only.
pub fn check_url(url: &str) -> Result<(), LinkError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| LinkError::BadUrl(url.into(), e.to_string()))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err(LinkError::Cleartext(url.into())),
        },
        other => Err(LinkError::BadUrl(url.into(), format!("scheme {other}"))),
    }
}

static PRIVATE_CA: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();

/// Trusts the hall's private CA (PEM, one or more certificates) **instead of** the public
/// roots, for every platform client this process makes from now on. Set once, at start-up.
pub fn set_private_ca(pem: &[u8]) -> Result<(), LinkError> {
    let certs =
        reqwest::Certificate::from_pem_bundle(pem).map_err(|e| LinkError::BadCa(e.to_string()))?;
    if certs.is_empty() {
        return Err(LinkError::BadCa("no certificate".into()));
    }
    PRIVATE_CA.set(certs).map_err(|_| LinkError::CaAlreadySet)
}

/// A client builder for `base_url` (checked with [`check_url`]) trusting the private CA when
/// one is set, the public roots otherwise.
pub fn builder(base_url: &str) -> Result<reqwest::ClientBuilder, LinkError> {
    check_url(base_url)?;
    let b = reqwest::Client::builder().https_only(base_url.starts_with("https:"));
    Ok(match PRIVATE_CA.get() {
        Some(certs) => b.tls_certs_only(certs.iter().cloned()),
        None => b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_to_loopback_only() {
        for ok in [
            "https://platform.hall.example",
            "https://10.0.0.5:8443/",
            "http://127.0.0.1:8780",
            "http://127.8.0.1",
            "http://[::1]:8780",
            "http://localhost:8780",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://10.0.0.5:8780",
            "http://platform.hall.example",
            "http://localhost.hall.example",
            "http://[::ffff:10.0.0.1]",
        ] {
            assert!(
                matches!(check_url(bad), Err(LinkError::Cleartext(_))),
                "{bad}"
            );
        }
        assert!(matches!(check_url("ftp://x"), Err(LinkError::BadUrl(..))));
        assert!(matches!(check_url("platform"), Err(LinkError::BadUrl(..))));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        assert!(matches!(
            set_private_ca(b"not a certificate"),
            Err(LinkError::BadCa(_))
        ));
    }
}
