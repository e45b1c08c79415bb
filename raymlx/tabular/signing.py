"""Signed predictor folders: an HMAC-SHA256 over the manifest, checked before unpickling.

Loading a predictor unpickles ``predictor.pkl`` and the fold models, and unpickling runs
whatever code the pickle names. A folder from someone else is therefore as trusted as a
script from them. The manifest already lists the sha256 of every file, so one keyed MAC
over the manifest's bytes (RFC 2104 HMAC with SHA-256, from the standard library's
:mod:`hmac`) covers every byte of the folder: ``manifest.sig`` holds it.

With a key (the ``signing_key`` argument, else the ``RAYMLX_SIGNING_KEY`` environment
variable), :func:`check_signature` refuses a folder that has no signature, a signature
made with another key, a manifest changed in any byte, or a file the manifest does not
list, before anything is unpickled; the files' own checksums are checked against the bytes
that are then unpickled (:func:`read_checked`). Without a key a folder loads on its
checksums alone, which guard against damage but not against a changed folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path

from raymlx.errors import InputError, LoadError

KEY_ENV = "RAYMLX_SIGNING_KEY"
SIGNATURE = "manifest.sig"
ALGORITHM = "hmac-sha256"

log = logging.getLogger("raymlx")


def signing_key(key: str | bytes | None) -> bytes | None:
    """The key to sign or check with: ``key`` if given, else ``$RAYMLX_SIGNING_KEY``,
    else None (no signing). An empty key is refused: it would sign with nothing."""
    if key is None:
        key = os.environ.get(KEY_ENV)
        if key is None:
            return None
        source = f"${KEY_ENV}"
    else:
        source = "signing_key"
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, bytes):
        raise InputError(f"{source} must be a str or bytes, not {type(key).__name__}")
    if not key:
        raise InputError(f"{source} is empty; pass a secret of at least 16 bytes or unset it")
    return key


def manifest_mac(manifest: bytes, key: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def write_signature(folder: Path, manifest: bytes, key: bytes) -> None:
    """Writes ``manifest.sig`` beside the manifest whose exact bytes are ``manifest``."""
    body = {"algorithm": ALGORITHM, "mac": manifest_mac(manifest, key)}
    (folder / SIGNATURE).write_text(json.dumps(body) + "\n")


def check_signature(folder: Path, manifest: bytes, files: dict[str, str],
                    key: bytes | None) -> None:
    """Raises ``LoadError`` unless the folder's signature matches ``key`` (when there is a
    key) and the folder holds only the files the manifest lists."""
    sig_path = folder / SIGNATURE
    if key is None:
        if sig_path.exists():
            log.warning("%s is signed but no signing key was given (signing_key= or $%s); "
                        "loading it on its checksums alone", folder, KEY_ENV)
        return
    where = str(folder)
    if not sig_path.is_file():
        raise LoadError(f"{where!r} is not signed and a signing key is set; refusing to load "
                        "it (unset the key only for folders you trust)")
    try:
        body = json.loads(sig_path.read_text())
        mac = body["mac"] if body.get("algorithm") == ALGORITHM else None
    except (ValueError, UnicodeDecodeError, TypeError, KeyError):
        mac = None
    if not isinstance(mac, str) or not hmac.compare_digest(mac, manifest_mac(manifest, key)):
        raise LoadError(f"{where!r} fails its signature check: signed with another key or "
                        "changed since it was signed; refusing to load it")
    listed = set(files) | {"manifest.json", SIGNATURE}
    extra = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and str(p.relative_to(folder)) not in listed)
    if extra:
        raise LoadError(f"{where!r} holds {extra[0]!r}, which its signed manifest does not "
                        "list; refusing to load it")


def read_checked(path: Path, digest: str | None) -> bytes:
    """The bytes of ``path``, after checking them against their sha256 ``digest`` (the
    bytes checked are the bytes returned, so a file swapped after ``load`` is caught when
    it is first read)."""
    data = path.read_bytes()
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        raise LoadError(f"{str(path)!r} does not match its checksum in the manifest; "
                        "the folder changed after it was loaded")
    return data
