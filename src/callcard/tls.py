"""Local HTTPS: a private CA, a server certificate it signs, and a CA bundle for clients (clients.md §4).

b24pysdk only speaks ``https://{domain}/rest``, so callcard serves a second, TLS listener. At first
start ``ensure_certificates(data_dir)`` creates, in ``data_dir/tls/``:

* ``ca.pem`` / ``ca.key`` — the local CA (10 years);
* ``server.pem`` / ``server.key`` — a leaf for ``IP:127.0.0.1`` and ``DNS:localhost`` (plus any
  ``extra_names``), signed by the CA;
* ``bundle.pem`` — the system CAs (or certifi's) followed by the local CA. Point
  ``REQUESTS_CA_BUNDLE`` at it: that variable *replaces* the trust store, so it must hold both.

Later calls reuse the files. The server certificate is re-issued (by the same CA) only when it is
missing, near expiry, not signed by the CA on disk, or lacks a requested name; the bundle is rebuilt
when missing. Key files are 0600. A lock file serialises concurrent callers (server and CLI).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DEFAULT_NAMES", "TlsFiles", "ensure_certificates", "system_ca_file"]

DEFAULT_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost")
CA_DAYS = 3650
SERVER_DAYS = 825
#: re-issue the server certificate when it has less than this left
RENEW_BEFORE = dt.timedelta(days=7)
#: the line in front of the local CA in a bundle (and how a bundle of ours is recognised)
_MARKER = b"# callcard local CA"


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the generated files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    bundle: Path
    ca_key: Path

    def client_env(self) -> dict[str, str]:
        """Environment overrides that make requests/httpx/ssl clients trust the local CA."""
        return {"REQUESTS_CA_BUNDLE": str(self.bundle), "SSL_CERT_FILE": str(self.bundle)}

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context trusting the bundle (system CAs + the local CA)."""
        return ssl.create_default_context(cafile=str(self.bundle))

    def server_context(self) -> ssl.SSLContext:
        """A server context with the generated certificate and key."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.server_cert), str(self.server_key))
        return ctx


def system_ca_file() -> Path | None:
    """The system's CA bundle file, else certifi's, else None.

    Never a bundle callcard built: ``REQUESTS_CA_BUNDLE`` is not read, and ``SSL_CERT_FILE`` (which
    ``paths.cafile`` follows) may already name our own bundle, which would then grow, and keep a stale
    local CA, on every rebuild.
    """
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, paths.cafile):
        if candidate and Path(candidate).is_file() and _MARKER not in Path(candidate).read_bytes():
            return Path(candidate)
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with httpx
        return None
    return Path(certifi.where())


def ensure_certificates(data_dir: str | Path, extra_names: Iterable[str] = ()) -> TlsFiles:
    """Create (once) and return the local CA, server certificate and client bundle under
    ``data_dir/tls``. ``extra_names`` (IPs or DNS names) are added to the server certificate."""
    folder = Path(data_dir) / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        bundle=folder / "bundle.pem",
        ca_key=folder / "ca.key",
    )
    names = _dedupe([*DEFAULT_NAMES, *extra_names])
    with _locked(folder / ".lock"):
        ca_created = False
        if not (files.ca_cert.is_file() and files.ca_key.is_file()):
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca_cert = _make_ca(ca_key)
            _write(files.ca_key, _key_pem(ca_key), private=True)
            _write(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
            ca_created = True
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        if ca_created or _server_needs_issue(files, ca_cert, names):
            ca_key_loaded = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
            if not isinstance(ca_key_loaded, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{files.ca_key} is not an EC key made by callcard")
            server_key = ec.generate_private_key(ec.SECP256R1())
            server_cert = _make_server(server_key, ca_key_loaded, ca_cert, names)
            _write(files.server_key, _key_pem(server_key), private=True)
            _write(files.server_cert, server_cert.public_bytes(serialization.Encoding.PEM))
        ca_pem = files.ca_cert.read_bytes()
        if ca_created or not files.bundle.is_file() or ca_pem not in files.bundle.read_bytes():
            _write(files.bundle, _bundle_bytes(ca_pem))
    return files


# -- certificate building -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _make_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "callcard"),
            x509.NameAttribute(NameOID.COMMON_NAME, "callcard local CA"),
        ]
    )
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_server(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    names: list[str],
) -> x509.Certificate:
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _server_needs_issue(files: TlsFiles, ca_cert: x509.Certificate, names: list[str]) -> bool:
    if not (files.server_cert.is_file() and files.server_key.is_file()):
        return True
    try:
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return True
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return True
    present = set(san)
    return any(_general_name(n) not in present for n in names)


# -- files ----------------------------------------------------------------------------------------------


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _bundle_bytes(local_ca_pem: bytes) -> bytes:
    system = system_ca_file()
    base = system.read_bytes() if system is not None else b""
    if base and not base.endswith(b"\n"):
        base += b"\n"
    return base + _MARKER + b"\n" + local_ca_pem


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a file; keys are created 0600
    from the start rather than chmod-ed afterwards."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if private:
            os.chmod(tmp, 0o600)  # the umask could not widen it, but an old file mode could linger
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _dedupe(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        name = name.strip()
        if name and name not in out and name not in ("0.0.0.0", "::"):
            out.append(name)
    return out
