"""Media2 (ver20 media) for devices that offer no ver10 media service.

onvif-zeep-async ships no Media2 WSDL, and we need three operations, so they are sent as
small hand-built SOAP 1.2 envelopes through the pool's transport (same connection pool,
same strictness checks, same HTTP Digest handling) and read with lxml by local name.
Authentication is WS-Security UsernameToken (PasswordDigest), stamped in the device's
time like every other call.
"""
from __future__ import annotations

import base64
import hashlib
import os
from datetime import datetime, timedelta, timezone
from typing import Any, Optional
from xml.sax.saxutils import escape

from lxml import etree

from probes.model import MediaProfile, OnvifResult, ProbeError
from probes.onvif_http import DeviceFault

NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)


def _security(user: Optional[str], password: Optional[str], dt_diff: Optional[timedelta]) -> str:
    if not user:
        return ""
    nonce = os.urandom(16)
    created = (datetime.now(timezone.utc) + (dt_diff or timedelta())).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() +
                                           (password or "").encode()).digest()).decode()
    return (
        '<s:Header><wsse:Security s:mustUnderstand="1" '
        'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
        'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
        f'<wsse:UsernameToken><wsse:Username>{escape(user)}</wsse:Username>'
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">'
        f'{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/'
        f'oasis-200401-wss-soap-message-security-1.0#Base64Binary">{base64.b64encode(nonce).decode()}'
        f'</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>')


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _find(el: Any, *names: str) -> Any:
    """The first descendant path by local names (namespaces differ between firmwares)."""
    for name in names:
        if el is None:
            return None
        el = next((c for c in el if _local(c) == name), None)
    return el


def _text(el: Any, *names: str) -> Optional[str]:
    found = _find(el, *names)
    if found is None or found.text is None:
        return None
    return found.text.strip()[:500] or None


class Media2:
    """Three Media2 calls for one device."""

    def __init__(self, transport: Any, xaddr: str, user: Optional[str], password: Optional[str],
                 dt_diff: Optional[timedelta]) -> None:
        self.transport, self.xaddr = transport, xaddr
        self.user, self.password, self.dt_diff = user, password, dt_diff

    async def call(self, op: str, inner: str) -> Any:
        """The operation's response element; device faults raise ``DeviceFault``."""
        envelope = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS_SOAP12}">'
                    f'{_security(self.user, self.password, self.dt_diff)}<s:Body>'
                    f'<{op} xmlns="{NS_MEDIA2}">{inner}</{op}></s:Body></s:Envelope>')
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; '
                                   f'action="{NS_MEDIA2}/{op}"'}
        response, content = await self.transport._post_internal(self.xaddr, envelope, headers)
        status = response.status
        if status in (401, 403):
            raise DeviceFault(f"HTTP {status}", "not authorized", status)
        if status in (404, 405, 501):
            raise DeviceFault(f"HTTP {status}", "Media2 not supported", status)
        try:
            root = etree.fromstring(content, parser=_PARSER)
        except (etree.XMLSyntaxError, ValueError) as exc:
            raise DeviceFault(f"HTTP {status}", f"not SOAP: {str(exc)[:100]}", status) from None
        body = _find(root, "Body")
        first = body[0] if body is not None and len(body) else None
        if first is None:
            raise DeviceFault(f"HTTP {status}", "empty SOAP body", status)
        if _local(first) == "Fault":
            def words(name: str) -> str:
                el = _find(first, name)
                return "" if el is None else " ".join(
                    t.strip() for t in el.itertext() if t.strip())[:300]
            raise DeviceFault(words("Code"), words("Reason"), status)
        if status != 200:
            raise DeviceFault(f"HTTP {status}", "unexpected answer", status)
        return first


async def read_media2(m2: Media2, result: OnvifResult, step: Any) -> None:
    """Profiles with their encoder (Media2 names H.265 'H265'), stream and snapshot URI."""
    resp = await m2.call("GetProfiles", "<Type>VideoEncoder</Type>")
    for p in resp:
        if _local(p) != "Profiles":
            continue
        token = (p.get("token") or "").strip()[:200]
        if not token:
            continue
        enc = _find(p, "Configurations", "VideoEncoder")

        def num(*path: str) -> Optional[float]:
            try:
                v = _text(enc, *path)
                return float(v) if v is not None else None
            except ValueError:
                return None
        w, h, kbps = num("Resolution", "Width"), num("Resolution", "Height"), \
            num("RateControl", "BitrateLimit")
        result.profiles.append(MediaProfile(
            token=token, name=_text(p, "Name"), encoding=_text(enc, "Encoding"),
            width=int(w) if w is not None else None, height=int(h) if h is not None else None,
            fps=num("RateControl", "FrameRateLimit"),
            bitrate_kbps=int(kbps) if kbps is not None else None))
    if not result.profiles:
        result.warnings.append(ProbeError("unsupported", "no media profiles (Media2)", "onvif"))
        return
    first = result.profiles[0]
    tok = escape(first.token)
    stream = await step.optional("GetStreamUri (Media2)", m2.call(
        "GetStreamUri", f"<Protocol>RTSP</Protocol><ProfileToken>{tok}</ProfileToken>"))
    snap = await step.optional("GetSnapshotUri (Media2)", m2.call(
        "GetSnapshotUri", f"<ProfileToken>{tok}</ProfileToken>"))
    from probes.onvif import _strip_creds
    first.stream_uri = result.stream_uri = _strip_creds(
        _text(stream, "Uri") if stream is not None else None)
    first.snapshot_uri = result.snapshot_uri = _strip_creds(
        _text(snap, "Uri") if snap is not None else None)
