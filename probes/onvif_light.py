"""GetSystemDateAndTime without zeep: one small envelope, parsed with lxml.

The clock is read from every camera on every full sweep; through zeep each reading
costs a few milliseconds of CPU (building the request from the WSDL's types and
deserialising the answer into objects). The answer has a fixed, small shape, so it is
read here directly; the shape handed back has the same attribute names as zeep's, so
``probes.onvif`` reads both alike. Faults and odd answers raise ``DeviceFault`` (the
caller then falls back to the authenticated zeep call, as with any refusal).
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lxml import etree

from probes.onvif_http import DeviceFault
from probes.onvif_media2 import NS_SOAP12, _PARSER, _find, _local

NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
_ENVELOPE = (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS_SOAP12}">'
             f'<s:Body><GetSystemDateAndTime xmlns="{NS_DEVICE}"/></s:Body></s:Envelope>')
_HEADERS = {"Content-Type": f'application/soap+xml; charset=utf-8; '
                            f'action="{NS_DEVICE}/GetSystemDateAndTime"'}


def _ns(el: Any) -> Any:
    """An element as nested namespaces by local name; a leaf as its text."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return (el.text or "").strip()
    return SimpleNamespace(**{_local(c): _ns(c) for c in children})


async def system_date_and_time(transport: Any, xaddr: str) -> Any:
    """The device's SystemDateAndTime (unauthenticated, as ONVIF Core allows)."""
    response, content = await transport._post_internal(xaddr, _ENVELOPE, _HEADERS)
    status = response.status
    if status in (401, 403):
        raise DeviceFault(f"HTTP {status}", "not authorized", status)
    try:
        root = etree.fromstring(content, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DeviceFault(f"HTTP {status}", f"not SOAP: {str(exc)[:100]}", status) from None
    body = _find(root, "Body")
    first = body[0] if body is not None and len(body) else None
    if first is None or _local(first) == "Fault" or status != 200:
        raise DeviceFault(f"HTTP {status}", "GetSystemDateAndTime refused", status)
    sdt = _find(first, "SystemDateAndTime")
    if sdt is None:
        raise DeviceFault(f"HTTP {status}", "no SystemDateAndTime", status)
    return _ns(sdt)
