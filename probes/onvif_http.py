"""HTTP-level answers that real ONVIF firmwares give besides a clean SOAP 1.2 envelope.

- HTTP authentication for SOAP: many firmwares (newer Hikvision, Uniview) authenticate
  ONVIF by HTTP Digest instead of, or as well as, WS-Security (ONVIF Core allows both).
  ``HttpAuth`` answers a 401's Digest (MD5, qop=auth) or Basic challenge once, and
  remembers the challenge per host:port so later calls authenticate on the first try.
- SOAP 1.1 faults (faultcode/faultstring, often with HTTP 500) that a SOAP 1.2 client
  cannot read: ``soap11_fault`` turns them into ``DeviceFault``.
- An HTML page (the web UI's login form) answered with 200: ``HtmlAnswer``.

The module keeps no secrets beyond the process and never logs them.
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Optional
from urllib.parse import urlsplit

from lxml import etree

NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
_PAIR = re.compile(r'(\w+)=("([^"]*)"|[^,\s]*)')


class DeviceFault(Exception):
    """A SOAP fault the device sent in a shape zeep does not read (SOAP 1.1)."""

    def __init__(self, code: str, reason: str, status: int) -> None:
        super().__init__(f"HTTP {status} SOAP 1.1 fault {code}: {reason}"[:300])
        self.code, self.reason, self.status = code, reason, status


class HtmlAnswer(Exception):
    """An HTML page where a SOAP envelope was expected."""

    def __init__(self, status: int, login: bool) -> None:
        what = "an HTML login page" if login else "an HTML page"
        super().__init__(f"HTTP {status}: {what} instead of SOAP (web login / ONVIF disabled?)")
        self.status, self.login = status, login


class HttpStatus(Exception):
    """An HTTP error status whose body is not SOAP (plain text, HTML)."""

    def __init__(self, status: int, content: bytes) -> None:
        text = content[:200].decode("utf-8", "replace").strip().replace("\n", " ")
        super().__init__(f"HTTP {status}: {text}"[:250])
        self.status, self.text = status, text


def looks_html(content: bytes, content_type: str = "") -> bool:
    head = content[:512].lstrip().lower()
    return ("html" in content_type.lower() and not head.startswith(b"<?xml")
            and not head.startswith(b"<s")) or head.startswith((b"<!doctype html", b"<html"))


def html_answer(status: int, content: bytes) -> HtmlAnswer:
    low = content[:20000].lower()
    login = b'type="password"' in low or b"type=password" in low or b"login" in low
    return HtmlAnswer(status, login)


def soap11_fault(root: etree._Element, status: int) -> Optional[DeviceFault]:
    """The fault inside a SOAP 1.1 envelope, or None when it holds none."""
    if etree.QName(root).namespace != NS_SOAP11:
        return None
    fault = root.find(f"{{{NS_SOAP11}}}Body/{{{NS_SOAP11}}}Fault")
    if fault is None:
        return None
    code = (fault.findtext("faultcode") or "").strip()
    reason = (fault.findtext("faultstring") or "").strip()
    # ONVIF subcodes (ter:NotAuthorized) live in <detail> on SOAP 1.1 firmwares.
    detail = fault.find("detail")
    sub = " ".join(t.strip() for t in detail.itertext() if t.strip()) if detail is not None else ""
    return DeviceFault(f"{code} {sub}".strip(), reason, status)


NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def soap11_to_12(root: etree._Element) -> Optional[bytes]:
    """A SOAP 1.1 answer re-serialised as SOAP 1.2 (Envelope/Header/Body only), so zeep's
    SOAP 1.2 binding reads answers of firmwares that reply in 1.1; None when not 1.1."""
    if etree.QName(root).namespace != NS_SOAP11:
        return None
    for el in [root, *root]:
        if isinstance(el.tag, str) and etree.QName(el).namespace == NS_SOAP11:
            el.tag = f"{{{NS_SOAP12}}}{etree.QName(el).localname}"
    # Attributes such as s11:mustUnderstand keep their 1.1 namespace: zeep ignores them.
    etree.cleanup_namespaces(root)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


# RFC 7616 algorithms (the -sess variants and auth-int are not done: not seen on cameras).
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """('digest'|'basic'|'', params) for a WWW-Authenticate header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(3) if m.group(3) is not None else m.group(2))
              for m in _PAIR.finditer(rest)}
    return scheme.lower(), params


class HttpAuth:
    """Per host:port credentials and the last challenge, for a shared transport."""

    def __init__(self) -> None:
        self.creds: dict[str, tuple[str, str]] = {}
        self.challenges: dict[str, tuple[str, dict[str, str], int]] = {}

    @staticmethod
    def key(address: str) -> str:
        p = urlsplit(address)
        return f"{(p.hostname or '').lower()}:{p.port or 80}"

    def register(self, address: str, user: Optional[str], password: Optional[str]) -> None:
        if user:
            self.creds[self.key(address)] = (user, password or "")

    def learn(self, address: str, header: str) -> bool:
        """Store a 401's challenge; True when we hold credentials that can answer it."""
        k = self.key(address)
        scheme, params = parse_challenge(header)
        if k not in self.creds or scheme not in ("digest", "basic"):
            return False
        if scheme == "digest" and (params.get("algorithm") or "MD5").upper() not in _HASHES:
            return False
        self.challenges[k] = (scheme, params, 0)
        return True

    def header(self, address: str, method: str = "POST",
               cnonce: Optional[str] = None) -> Optional[str]:
        """An Authorization header from the remembered challenge, or None."""
        k = self.key(address)
        ch = self.challenges.get(k)
        cred = self.creds.get(k)
        if ch is None or cred is None:
            return None
        scheme, params, nc = ch
        user, password = cred
        if scheme == "basic":
            import base64
            return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        nc += 1
        self.challenges[k] = (scheme, params, nc)
        p = urlsplit(address)
        uri = p.path + (f"?{p.query}" if p.query else "")
        realm, nonce = params.get("realm", ""), params.get("nonce", "")
        algorithm = (params.get("algorithm") or "MD5").upper()
        hash_ = _HASHES[algorithm]

        def h(text: str) -> str:
            return hash_(text.encode("utf-8")).hexdigest()
        ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
        qops = [q.strip() for q in (params.get("qop") or "").split(",") if q.strip()]
        parts = [f'username="{user}"', f'realm="{realm}"', f'uri="{uri}"',
                 f"algorithm={algorithm}", f'nonce="{nonce}"']
        if "auth" in qops:
            cnonce, ncs = cnonce or os.urandom(8).hex(), f"{nc:08x}"
            resp = h(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={ncs}", f'cnonce="{cnonce}"']
        else:
            resp = h(f"{ha1}:{nonce}:{ha2}")
        parts.append(f'response="{resp}"')
        if params.get("opaque"):
            parts.append(f'opaque="{params["opaque"]}"')
        return "Digest " + ", ".join(parts)

    def forget(self, address: str) -> None:
        self.challenges.pop(self.key(address), None)
