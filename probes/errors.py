"""Turn whatever a device or a library throws into a typed ``ProbeError``.

One place knows the exception zoo (asyncio, OSError errnos, aiohttp, httpx, zeep,
lxml), so every prober reports failures with the same kinds.
"""
from __future__ import annotations

import asyncio
import errno
from typing import Iterator, Optional

from probes.model import ProbeError

_UNREACHABLE_ERRNOS = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL,
                       errno.EHOSTDOWN, errno.ENETDOWN}
_RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}
_AUTH_WORDS = ("notauthorized", "not authorized", "unauthorized", "authority failure",
               "authentication", "invalidsecurity", "failedauthentication")
_UNSUPPORTED_WORDS = ("actionnotsupported", "not supported", "notsupported",
                      "no such operation", "unknown operation")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: Optional[BaseException] = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _fault_kind(text: str) -> str:
    low = text.lower().replace(" ", "")
    if any(w.replace(" ", "") in low for w in _AUTH_WORDS):
        return "auth"
    if any(w.replace(" ", "") in low for w in _UNSUPPORTED_WORDS):
        return "unsupported"
    return "fault"


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _classify_one(exc: BaseException) -> Optional[tuple[str, str]]:
    """(kind, message) when this exception alone decides the kind, else None."""
    name = _name(exc)
    mod = type(exc).__module__ or ""
    msg = str(exc) or name
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) or name in (
            "ServerTimeoutError", "ConnectTimeout", "ReadTimeout", "WriteTimeout",
            "PoolTimeout", "TimeoutException", "ConnectionTimeoutError",
            "SocketTimeoutError", "ONVIFTimeoutError"):
        return "timeout", f"timed out ({name})"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, ConnectionResetError) or name in ("ServerDisconnectedError",
                                                         "ClientConnectionResetError"):
        return "reset", f"connection reset ({name})"
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno == errno.ECONNREFUSED:
            return "refused", "connection refused"
        if exc.errno in _UNREACHABLE_ERRNOS:
            return "unreachable", f"unreachable: {exc.strerror or msg}"
        if exc.errno in _RESET_ERRNOS:
            return "reset", f"connection reset: {exc.strerror or msg}"
        if exc.errno == errno.ETIMEDOUT:
            return "timeout", "timed out (ETIMEDOUT)"
    # Truncated bodies / broken HTTP framing: the device sent something wrong.
    if name in ("ClientPayloadError", "ContentLengthError", "TransferEncodingError",
                "RemoteProtocolError", "IncompleteRead", "LocalProtocolError",
                "ServerFingerprintMismatch", "ClientResponseError", "DecodingError") \
            and "auth" not in msg.lower():
        return "malformed", f"bad HTTP answer ({name}): {msg}"
    if isinstance(exc, UnicodeError):
        return "malformed", f"not valid text ({name})"
    if name in ("XMLSyntaxError", "XMLParseError", "DocumentInvalid", "ParseError",
                "MalformedAnswer"):
        return "malformed", f"bad XML ({name}): {msg}"
    if name == "DeviceFault":       # a SOAP 1.1 fault (probes.onvif_http)
        return _fault_kind(msg), msg
    if name == "HttpStatus":        # an HTTP error with a non-SOAP body (probes.onvif_http)
        status = getattr(exc, "status", 0)
        if status in (401, 403):
            return "auth", msg
        if status in (404, 405, 501):
            return "unsupported", msg
        return _fault_kind(getattr(exc, "text", "")), msg
    if name == "HtmlAnswer":        # a web page where SOAP was expected
        return ("auth" if getattr(exc, "login", False) else "malformed"), msg
    if name == "Fault" and "zeep" in mod:
        subcodes = " ".join(str(s) for s in (getattr(exc, "subcodes", None) or []))
        code = str(getattr(exc, "code", "") or "")
        text = f"{code} {subcodes} {getattr(exc, 'message', '') or ''}"
        kind = _fault_kind(text)
        return kind, f"SOAP fault: {text.strip()[:300]}"
    if name == "TransportError" and "zeep" in mod:
        status = getattr(exc, "status_code", 0) or 0
        if status in (401, 403):
            return "auth", f"HTTP {status}"
        if status in (404, 405, 501):
            return "unsupported", f"HTTP {status}"
        content = getattr(exc, "content", b"") or b""
        if status == 400 or status >= 500:
            # A SOAP fault sent with an HTTP error code that zeep could not parse.
            return _fault_kind(content.decode("utf-8", "replace")) if content else "fault", \
                f"HTTP {status}"
        return "malformed", f"HTTP {status}: {msg}"
    if name in ("ONVIFAuthError",) or (name == "HTTPStatusError" and
                                        getattr(getattr(exc, "response", None), "status_code", 0) in (401, 403)):
        return "auth", msg
    if name == "ValidationError" and "zeep" in mod:
        return "malformed", f"unexpected answer: {msg}"
    if name == "LookupError" and "zeep" in mod or name == "ZeepLookupError":
        return "malformed", f"unexpected answer: {msg}"
    return None


def classify(exc: BaseException, check: Optional[str] = None) -> ProbeError:
    """The typed error for an exception, looking through its cause chain."""
    for link in _chain(exc):
        found = _classify_one(link)
        if found:
            return ProbeError(found[0], found[1], check)
    name = _name(exc)
    if name in ("ClientConnectorError", "ConnectError", "ClientOSError", "ConnectionError"):
        return ProbeError("unreachable", f"cannot connect ({name}): {exc}", check)
    if "zeep" in (type(exc).__module__ or "") or name == "ONVIFError":
        return ProbeError("malformed", f"unexpected SOAP answer ({name}): {exc}", check)
    return ProbeError("internal", f"{name}: {exc}", check)
