//! HTTPS: serving with the `server.tls` certificate, and `widgetgate cert`'s self-signed one.
//!
//! Safari and Brave refuse to let the https Workspace page call an `http://` backend, so a
//! backend on a laptop needs HTTPS with a certificate the browser trusts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::tls::TlsFiles;

/// The names `widgetgate cert` certifies.
pub const LOCAL_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// File names `widgetgate cert` writes.
pub const CERT_FILE: &str = "widgetgate-cert.pem";
/// See [`CERT_FILE`].
pub const KEY_FILE: &str = "widgetgate-key.pem";

/// Days a generated certificate is valid; Apple platforms reject server certificates valid
/// for more than 825 days.
const VALID_DAYS: i64 = 397;

/// A TLS acceptor for `files`, offering HTTP/2 and HTTP/1.1. Errors name the file, never
/// key material.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("cannot read the certificate {}: {e}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        format!(
            "cannot read a private key from {}: {e}",
            files.key.display()
        )
    })?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "{} and {} cannot be used together: {e}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A self-signed certificate for `names` (DNS names or IP addresses) and its private key,
/// both PEM.
pub fn self_signed(names: &[&str]) -> Result<(String, String), rcgen::Error> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("localhost"),
    );
    dn.push(DnType::OrganizationName, "widgetgate (self-signed)");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let day =
        |d: chrono::DateTime<Utc>| rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
    let now = Utc::now();
    params.not_before = day(now - Duration::days(1));
    params.not_after = day(now + Duration::days(VALID_DAYS));
    let key = KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes a self-signed certificate for [`LOCAL_NAMES`] into `dir` as [`CERT_FILE`] and
/// [`KEY_FILE`] (the key readable by its owner only). Existing files are not overwritten.
pub fn write_local_cert(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    for p in [&cert_path, &key_path] {
        if p.exists() {
            return Err(format!(
                "{} exists; remove it first or choose another --out",
                p.display()
            ));
        }
    }
    let (cert, key) =
        self_signed(LOCAL_NAMES).map_err(|e| format!("cannot generate a certificate: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(&cert_path, cert)
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    write_private(&key_path, key.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", key_path.display()))?;
    Ok((cert_path, key_path))
}

/// What to do with a certificate `widgetgate cert` wrote: the `server.tls` lines and how to
/// make each platform's browsers trust it.
pub fn cert_instructions(cert: &Path, key: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (cert, key) = (
        abs(cert).display().to_string(),
        abs(key).display().to_string(),
    );
    format!(
        "Wrote {cert}\n  a self-signed certificate for {names}, valid {VALID_DAYS} days,\n\
         and {key}\n  its private key: keep it private, never commit it.\n\n\
         1. Serve HTTPS: add to gateway.yaml (then connect Workspace to https://localhost:7779)\n\n\
         \x20  server:\n\
         \x20    tls:\n\
         \x20      cert: {cert}\n\
         \x20      key: {key}\n\n\
         2. Trust the certificate, so the browser accepts it (Safari and Brave need this):\n\
         \x20  macOS:    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {cert}\n\
         \x20            (or open it in Keychain Access and set \"When using this certificate: Always Trust\")\n\
         \x20  Windows:  certutil -addstore -user Root {cert}\n\
         \x20            (or double-click it: Install Certificate, \"Trusted Root Certification Authorities\")\n\
         \x20  Linux:    sudo cp {cert} /usr/local/share/ca-certificates/widgetgate.crt && sudo update-ca-certificates\n\
         \x20            Chrome/Chromium also: certutil -d sql:$HOME/.pki/nssdb -A -t \"P,,\" -n widgetgate -i {cert}\n\
         \x20  Firefox:  Settings, Privacy & Security, Certificates, View Certificates, Authorities, Import\n\
         \x20  Or, in Chrome, Edge or Firefox only: open https://localhost:7779/healthz once and accept the warning.\n",
        names = LOCAL_NAMES.join(", "),
    )
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_load_and_are_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = write_local_cert(dir.path()).expect("written");
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            mark: Default::default(),
        };
        assert!(acceptor(&files).is_ok());
        assert!(write_local_cert(dir.path()).is_err());
        let swapped = TlsFiles {
            cert: key,
            key: cert,
            mark: Default::default(),
        };
        let err = acceptor(&swapped).err().unwrap_or_default();
        assert!(
            err.contains("certificate") && !err.contains("PRIVATE KEY"),
            "{err}"
        );
    }
}
