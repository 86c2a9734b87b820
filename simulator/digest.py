"""HTTP Digest authentication (RFC 7616, MD5, qop=auth) as IP cameras do it for
snapshots. Nonces are stateless: a timestamp signed with a per-process key."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import time

_KEY = os.urandom(16)
_PAIR = re.compile(r'(\w+)=("([^"]*)"|[^,\s]*)')
NONCE_TTL = 300.0


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def make_nonce(now: float | None = None) -> str:
    ts = f"{int((now or time.time()) * 1000):x}"
    sig = hmac.new(_KEY, ts.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{ts}{sig}"


def nonce_ok(nonce: str, now: float | None = None) -> bool:
    ts, sig = nonce[:-16], nonce[-16:]
    good = hmac.new(_KEY, ts.encode(), hashlib.sha256).hexdigest()[:16]
    if not ts or not hmac.compare_digest(sig, good):
        return False
    try:
        age = (now or time.time()) - int(ts, 16) / 1000.0
    except ValueError:
        return False
    return -5 <= age <= NONCE_TTL


def challenge(realm: str) -> str:
    return (f'Digest realm="{realm}", qop="auth", nonce="{make_nonce()}", '
            f'opaque="{hashlib.md5(realm.encode()).hexdigest()}", algorithm=MD5, stale=FALSE')


def parse(header: str) -> dict[str, str]:
    if not header.lower().startswith("digest "):
        return {}
    return {m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2))
            for m in _PAIR.finditer(header[7:])}


def verify(header: str, method: str, realm: str, username: str, password: str) -> bool:
    """True when the Authorization header proves the password for this request."""
    p = parse(header)
    if not p or p.get("username") != username or p.get("realm") != realm:
        return False
    nonce, uri, resp = p.get("nonce", ""), p.get("uri", ""), p.get("response", "")
    if not nonce_ok(nonce):
        return False
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    qop = p.get("qop")
    if qop:
        expect = _md5(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:{qop}:{ha2}")
    else:
        expect = _md5(f"{ha1}:{nonce}:{ha2}")
    return hmac.compare_digest(expect, resp)
