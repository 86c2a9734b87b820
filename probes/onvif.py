"""ONVIF probe through onvif-zeep-async's building blocks, shared across devices.

``onvif.ONVIFCamera`` gives every device its own aiohttp session per service and
rebuilds zeep clients; at fleet scale we keep what is expensive once per process:
the parsed WSDL documents (``onvif.client._cached_document``: parsed once, reused
by every device) and one pooled aiohttp session + zeep transport (``OnvifPool``).
Per device we only build light zeep clients bound to its address and credentials.

Every failure becomes a ``ProbeError``: the first call that fails decides the
result's ``error``; optional sub-calls (services, recordings, URIs) that fail are
recorded in ``warnings`` and the probe carries on.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from probes.config import TierSpec
from probes.errors import classify
from probes.onvif_media2 import Media2, read_media2
from probes.clock import OffsetBounds, as_stored, beyond, bounds_from_read, intersect, \
    next_read_at, stored_figures
from probes.onvif_light import system_date_and_time
from probes.onvif_tz import utc_offset
from probes.onvif_http import (HttpAuth, HttpStatus, html_answer, looks_html, soap11_fault,
                                soap11_to_12)
from probes.model import (ONVIF_ASK, DeviceTarget, MediaProfile, OnvifResult, ProbeError,
                          RecordingSummary, TRANSIENT_KINDS)

_WSDL_DIR: Optional[Path] = None

# Namespaces of the services we use (for GetServices), and our short names.
_NS = {
    "http://www.onvif.org/ver10/device/wsdl": "devicemgmt",
    "http://www.onvif.org/ver10/media/wsdl": "media",
    "http://www.onvif.org/ver20/media/wsdl": "media2",
    "http://www.onvif.org/ver20/ptz/wsdl": "ptz",
    "http://www.onvif.org/ver20/imaging/wsdl": "imaging",
    "http://www.onvif.org/ver10/events/wsdl": "events",
    "http://www.onvif.org/ver10/recording/wsdl": "recording",
    "http://www.onvif.org/ver10/search/wsdl": "search",
    "http://www.onvif.org/ver10/replay/wsdl": "replay",
    "http://www.onvif.org/ver10/deviceIO/wsdl": "deviceio",
}


class OnvifPool:
    """One pooled HTTP session and the process-wide parsed WSDLs, for many devices."""

    def __init__(self, max_connections: int = 200) -> None:
        self.max_connections = max_connections
        self._session: Any = None
        self._transport: Any = None
        self._lock = asyncio.Lock()
        self._doc_locks: dict[str, asyncio.Lock] = {}

    async def document(self, path: str) -> Any:
        """The parsed WSDL, parsed once per process.

        onvif's ``_cached_document`` checks its cache before parsing in a thread, so 200
        devices starting together would each parse the same WSDL (seen here: 850 MB and
        timeouts). One lock per file makes the first caller parse and the rest wait.
        """
        from onvif.client import _DOCUMENT_CACHE, _cached_document
        doc = _DOCUMENT_CACHE.get(path)
        if doc is not None:
            return doc
        lock = self._doc_locks.setdefault(path, asyncio.Lock())
        async with lock:
            return await _cached_document(path)

    async def transport(self) -> Any:
        if self._transport is None:
            async with self._lock:
                if self._transport is None:
                    import aiohttp
                    connector = aiohttp.TCPConnector(
                        limit=self.max_connections, limit_per_host=1,
                        keepalive_timeout=30, enable_cleanup_closed=True)
                    # Timeouts are applied per call by the probe (asyncio.timeout);
                    # the session's own are a backstop only.
                    self._session = aiohttp.ClientSession(
                        connector=connector, trust_env=False,
                        timeout=aiohttp.ClientTimeout(total=120, sock_connect=30))
                    self._transport = _strict_transport_class()(session=self._session,
                                                                verify_ssl=False)
                    # Per pool: which credentials answer which host's HTTP challenge.
                    self._transport.http_auth = HttpAuth()
        return self._transport

    async def service(self, name: str, xaddr: str, user: Optional[str],
                      password: Optional[str], dt_diff: Optional[timedelta] = None) -> Any:
        """A zeep service proxy for one device (auth when a user is given)."""
        from onvif.client import UsernameDigestTokenDtDiff, ZeepAsyncClient
        from onvif.definition import SERVICES
        from onvif.settings import DEFAULT_SETTINGS
        from onvif.wsa import WsAddressingIfMissingPlugin
        definition = SERVICES[name]
        transport = await self.transport()
        transport.http_auth.register(xaddr, user, password)
        document = await self.document(str(_wsdl_dir() / definition["wsdl"]))
        wsse = (UsernameDigestTokenDtDiff(user, password or "", dt_diff=dt_diff,
                                          use_digest=True) if user else None)
        client = ZeepAsyncClient(wsdl=document, wsse=wsse, transport=transport,
                                 settings=DEFAULT_SETTINGS,
                                 plugins=[WsAddressingIfMissingPlugin()])
        binding = "{%s}%s" % (definition["ns"], definition["binding"])
        return client.create_service(binding, xaddr)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._transport = None


class MalformedAnswer(Exception):
    """The device's answer is not well-formed XML in its declared encoding."""


_STRICT_CLASS: Any = None


def _strict_transport_class() -> Any:
    """onvif-zeep-async's aiohttp transport, plus a strict well-formedness check.

    zeep runs with ``strict=False`` here (real devices stray from the schema), which
    also makes lxml *recover* from broken XML and silently drop what it cannot read.
    We want a malformed or wrongly encoded answer reported as such, so every answer
    is first parsed once with a strict, non-recovering, entity-free parser.
    """
    global _STRICT_CLASS
    if _STRICT_CLASS is None:
        from lxml import etree
        from onvif.zeep_aiohttp import AIOHTTPTransport

        parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True,
                                 huge_tree=False)

        class StrictTransport(AIOHTTPTransport):  # type: ignore[misc, valid-type]
            http_auth = HttpAuth()

            async def _send(self, address: str, message: Any,
                            headers: dict) -> tuple[Any, bytes]:
                """POST, answering an HTTP Digest/Basic challenge once (see onvif_http)."""
                headers = dict(headers or {})
                sent = self.http_auth.header(address)
                if sent:
                    headers["Authorization"] = sent
                response, content = await super()._post_internal(address, message, headers)
                if response.status == 401:
                    offers = response.headers.getall("WWW-Authenticate", [])
                    # Prefer Digest when a device offers both.
                    for offer in sorted(offers, key=lambda h: not h.lower().startswith("digest")):
                        if self.http_auth.learn(address, offer):
                            headers["Authorization"] = self.http_auth.header(address)
                            response, content = await super()._post_internal(
                                address, message, headers)
                            break
                    if response.status == 401:
                        self.http_auth.forget(address)
                return response, content

            # Both post() and post_xml() read the answer through _post_internal.
            async def _post_internal(self, address: str, message: Any,
                                     headers: dict) -> tuple[Any, bytes]:
                response, content = await self._send(address, message, headers)
                status = response.status
                # Auth refusals and missing endpoints are often HTML or plain text: report
                # their status (auth / unsupported / fault) rather than call them malformed
                # (zeep itself trips over a non-XML error body).
                if not content:
                    return response, content
                html = looks_html(content, response.headers.get("Content-Type", ""))
                if status >= 400 and (html or not content.lstrip().startswith(b"<")):
                    raise HttpStatus(status, content)
                if html:
                    raise html_answer(status, content)
                try:
                    root = etree.fromstring(content, parser=parser)
                except etree.XMLSyntaxError as exc:
                    raise MalformedAnswer(f"HTTP {status}: {exc}") from exc
                fault = soap11_fault(root, status)
                if fault is not None:
                    raise fault
                as12 = soap11_to_12(root)
                return response, (as12 if as12 is not None else content)

        _STRICT_CLASS = StrictTransport
    return _STRICT_CLASS


def _wsdl_dir() -> Path:
    global _WSDL_DIR
    if _WSDL_DIR is None:
        import onvif
        _WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
    return _WSDL_DIR


# ---------------------------------------------------------------- helpers

def _g(obj: Any, *path: str) -> Any:
    """Nested attribute/key lookup that yields None instead of raising."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _str(v: Any) -> Optional[str]:
    if v is None:
        return None
    s = str(v).strip()
    return s[:200] if s else None


def _int(v: Any) -> Optional[int]:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _same_host(xaddr: Optional[str], host: str, default_port: int) -> Optional[str]:
    """Point a device-advertised URL at the address we were given (NAT, wrong LAN IP).

    Keeps scheme, port and path; only the host is replaced, so we never talk to an
    address the inventory did not name.
    """
    if not xaddr:
        return None
    try:
        parts = urlsplit(str(xaddr).strip())
        port = parts.port or default_port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, ""))


# Query parameters in which firmwares put the account (snapshot.cgi?user=admin&pwd=...).
_SECRET_PARAMS = {"user", "username", "usr", "loginuse", "pwd", "pass", "passwd", "password",
                  "loginpas", "auth", "token"}


def _strip_creds(uri: Optional[str]) -> Optional[str]:
    """The URI without credentials: userinfo and account-like query parameters are dropped
    (the result is stored and shown); the grab authenticates with the target's account."""
    if not uri:
        return None
    try:
        p = urlsplit(str(uri).strip())
        netloc = p.hostname or ""
        if p.port:
            netloc += f":{p.port}"
        query = "&".join(part for part in p.query.split("&") if part and
                         part.split("=", 1)[0].lower() not in _SECRET_PARAMS)
        return urlunsplit((p.scheme, netloc, p.path, query, ""))
    except ValueError:
        return None


def _device_datetime(dt_obj: Any) -> Optional[datetime]:
    d, t = _g(dt_obj, "Date"), _g(dt_obj, "Time")
    try:
        return datetime(int(d.Year), int(d.Month), int(d.Day), int(t.Hour), int(t.Minute),
                        int(t.Second), tzinfo=timezone.utc)
    except (AttributeError, TypeError, ValueError):
        return None


def _to_utc(v: Any) -> Optional[datetime]:
    if isinstance(v, datetime):
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc)
    if isinstance(v, str):
        try:
            return _to_utc(datetime.fromisoformat(v.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- the probe

class _Step:
    """Call a device operation; required steps raise, optional ones record a warning."""

    def __init__(self, result: OnvifResult) -> None:
        self.result = result

    async def optional(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            err = classify(exc, "onvif")
            if err.kind in TRANSIENT_KINDS:
                raise          # the device went away mid-probe: stop, don't pile up warnings
            err.message = f"{what}: {err.message}"
            self.result.warnings.append(err)
            return None


AUTH_OFFSET_MIN_S = 1.0


def auth_time_offset(clock_offset_s: Optional[float]) -> Optional[timedelta]:
    """The shift for WS-Security Created times, from the measured device clock offset.

    Cameras refuse a UsernameToken whose Created is more than their window (a few
    seconds to minutes) away from *their* clock, with the same NotAuthorized as a wrong
    password. Every authenticated call therefore stamps Created in the device's time
    (onvif-zeep-async's UsernameDigestTokenDtDiff adds the shift). Offsets under a second
    are within the measurement's own error and left alone.
    """
    if clock_offset_s is None or abs(clock_offset_s) < AUTH_OFFSET_MIN_S:
        return None
    return timedelta(seconds=clock_offset_s)


async def probe_onvif(pool: OnvifPool, target: DeviceTarget, spec: TierSpec,
                      timeout: float) -> OnvifResult:
    """Device information, clock, services, media profiles + URIs, NVR recordings.

    The caller applies ``timeout`` around the whole probe; the value is used here only
    to keep the optional sub-calls from starving the required ones.
    """
    result = OnvifResult(ok=False)
    step = _Step(result)
    port = int(target.onvif_port or 80)
    dev_xaddr = f"http://{target.host}:{port}/onvif/device_service"
    what = "GetSystemDateAndTime"
    try:
        # 1. Clock: unauthenticated per the ONVIF core spec, so it also works with a
        #    clock so far off that WS-Security timestamps would be refused. Read without
        #    zeep (probes.onvif_light); a refusal is asked again, authenticated, by zeep.
        transport = await pool.transport()

        async def read_clock() -> Any:
            return await system_date_and_time(transport, dev_xaddr)
        t0_wall = time.time()
        t0 = time.perf_counter()
        try:
            sdt = await read_clock()
        except Exception as exc:  # noqa: BLE001
            if classify(exc).kind not in ("auth", "fault", "malformed"):
                raise
            auth_dev = await pool.service("devicemgmt", dev_xaddr, target.username,
                                          target.password)
            read_clock = auth_dev.GetSystemDateAndTime      # noqa: F811
            t0_wall, t0 = time.time(), time.perf_counter()
            sdt = await read_clock()
        rtt = time.perf_counter() - t0
        bounds = _read_clock(result, sdt, t0_wall, rtt)
        if bounds is not None and spec.clock_tolerance_s is not None:
            await _refine_clock(read_clock, result, bounds, rtt, spec.clock_tolerance_s,
                                budget_s=min(4.0, timeout / 3))
        dt_diff = auth_time_offset(result.clock_offset_s)
        ask = set(target.onvif_ask) if target.onvif_ask is not None else set(ONVIF_ASK)
        result.asked = sorted(ask | {"clock"})
        if not ask - {"clock"}:
            result.ok = True            # the clock was all this sweep needed to know
            return result

        # 2. Who is it (authenticated: this is where bad credentials show).
        what = "GetDeviceInformation"
        dev = await pool.service("devicemgmt", dev_xaddr, target.username, target.password,
                                 dt_diff)
        info = await dev.GetDeviceInformation()
        result.identity_read_at = datetime.now(timezone.utc)
        result.manufacturer = _str(_g(info, "Manufacturer"))
        result.model = _str(_g(info, "Model"))
        result.firmware_version = _str(_g(info, "FirmwareVersion"))
        result.serial_number = _str(_g(info, "SerialNumber"))
        result.hardware_id = _str(_g(info, "HardwareId"))
        expected = target.expected_serial or target.serial
        if expected and result.serial_number is not None:
            result.serial_mismatch = result.serial_number.strip().upper() != expected.strip().upper()

        if not ask & {"media", "recordings"}:
            result.ok = True
            return result
        # 3. Where are the other services.
        what = "GetServices/GetCapabilities"
        xaddrs = await _service_addresses(dev, target, port, result, step)

        # 4. Media: profiles, encoders, URIs (cameras; NVRs often expose them too).
        use_media2 = "media2" in xaddrs and "media" not in xaddrs
        if spec.onvif_profiles and "media" in ask and "media" in xaddrs:
            what = "GetProfiles"
            media = await pool.service("media", xaddrs["media"], target.username,
                                       target.password, dt_diff)
            try:
                await _read_media(media, result, step)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                # Firmwares that list both but answer only Media2: try that before failing.
                if "media2" not in xaddrs or classify(exc).kind != "unsupported":
                    raise
                result.warnings.append(ProbeError(
                    "unsupported", f"GetProfiles (ver10): {classify(exc).message}; "
                    "used Media2", "onvif"))
                use_media2 = True
        if spec.onvif_profiles and "media" in ask and use_media2:
            # Media2-only firmwares (GetServices lists ver20 media and no ver10).
            what = "GetProfiles (Media2)"
            transport = await pool.transport()
            transport.http_auth.register(xaddrs["media2"], target.username, target.password)
            await read_media2(Media2(transport, xaddrs["media2"], target.username,
                                     target.password, dt_diff), result, step)

        # 5. NVR: recordings and their span (Profile G).
        if spec.onvif_recordings and "recordings" in ask and target.kind == "nvr":
            what = "recordings"
            await _read_recordings(pool, target, xaddrs, dt_diff, result, step)
        result.ok = True
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is a typed value
        err = classify(exc, "onvif")
        err.message = f"{what}: {err.message}"
        result.error = err
    return result


def _read_clock(result: OnvifResult, sdt: Any, t0_wall: float,
                rtt: float) -> Optional[OffsetBounds]:
    """Fill the clock fields from one GetSystemDateAndTime answer; the offset interval."""
    result.clock_rtt_s = round(rtt, 6)
    device_utc = _device_utc(result, sdt)
    bounds = None
    if device_utc is not None:
        result.device_time = device_utc
        # Whole seconds, truncated, read somewhere within the round trip: the offset lies
        # in [s - t_recv, s + 1 - t_send]; its middle is s + 0.5 - (t_send + t_recv)/2.
        bounds = bounds_from_read(device_utc.timestamp(), t0_wall, t0_wall + rtt)
        _set_offset(result, bounds, 1)
    result.timezone = _str(_g(sdt, "TimeZone", "TZ"))
    dtt = _str(_g(sdt, "DateTimeType"))
    result.ntp = None if dtt is None else dtt.upper() == "NTP"
    return bounds


def _device_utc(result: OnvifResult, sdt: Any) -> Optional[datetime]:
    device_utc = _device_datetime(_g(sdt, "UTCDateTime"))
    if device_utc is None:
        # Firmwares that give only their wall clock: UTC = local - the zone's offset.
        tz = _str(_g(sdt, "TimeZone", "TZ"))
        local = _device_datetime(_g(sdt, "LocalDateTime"))
        if local is not None:
            dst_on = str(_g(sdt, "DaylightSavings")).lower() == "true"
            offset = utc_offset(tz, local, dst_on)
            if offset is None:
                result.warnings.append(ProbeError(
                    "malformed", f"no UTCDateTime and time zone {tz!r} not understood; "
                    "clock offset not computed", "onvif"))
            else:
                device_utc = local - offset
    return device_utc


def _set_offset(result: OnvifResult, bounds: OffsetBounds, reads: int) -> None:
    result.clock_offset_s, result.clock_uncertainty_s = stored_figures(bounds)
    result.clock_reads = reads


CLOCK_REFINE_READS = 4


async def _refine_clock(read: Any, result: OnvifResult, bounds: OffsetBounds, rtt: float,
                        tolerance: float, budget_s: float) -> None:
    """While the offset interval straddles ±tolerance, read again at the instant the
    device's second should tick in the interval's middle: each reading halves it.
    Bounded by ``budget_s`` and CLOCK_REFINE_READS; a reading that fails ends it."""
    end = time.time() + budget_s
    reads = 1
    while beyond(as_stored(bounds), tolerance) is None and reads < CLOCK_REFINE_READS:
        at = next_read_at(bounds, time.time(), rtt)
        if at + rtt > end:
            break
        await asyncio.sleep(max(0.0, at - time.time()))
        t_send = time.time()
        try:
            sdt = await read()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the first reading stands
            break
        t_recv = time.time()
        device_utc = _device_utc(result, sdt)
        if device_utc is None:
            break
        rtt = t_recv - t_send
        bounds = intersect(bounds, bounds_from_read(device_utc.timestamp(), t_send, t_recv))
        reads += 1
        _set_offset(result, bounds, reads)


async def _service_addresses(dev: Any, target: DeviceTarget, port: int,
                             result: OnvifResult, step: _Step) -> dict[str, str]:
    xaddrs: dict[str, str] = {}
    services = None
    try:
        services = await dev.GetServices(IncludeCapability=False)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        err = classify(exc, "onvif")
        if err.kind in TRANSIENT_KINDS or err.kind == "auth":
            raise
        services_error = err
    else:
        services_error = None
    for svc in services or []:
        ns = _str(_g(svc, "Namespace"))
        if not ns:
            continue
        result.services.append(ns)
        short = _NS.get(ns)
        addr = _same_host(_g(svc, "XAddr"), target.host, port)
        if short and addr:
            xaddrs.setdefault(short, addr)
    if not xaddrs:
        # GetServices is missing on older firmwares, GetCapabilities (deprecated) on some
        # newer ones: either one is enough; only when both fail is it worth a warning.
        try:
            caps = await dev.GetCapabilities(Category="All")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            err = classify(exc, "onvif")
            if err.kind in TRANSIENT_KINDS or err.kind == "auth":
                raise
            err.message = (f"GetCapabilities: {err.message}; GetServices: "
                           f"{services_error.message if services_error else 'no services'}")
            result.warnings.append(err)
            caps = None
        for key, path in (("media", ("Media",)), ("ptz", ("PTZ",)), ("imaging", ("Imaging",)),
                          ("events", ("Events",)),
                          ("recording", ("Extension", "Recording")),
                          ("search", ("Extension", "Search")),
                          ("replay", ("Extension", "Replay"))):
            addr = _same_host(_g(caps, *path, "XAddr"), target.host, port)
            if addr:
                xaddrs[key] = addr
    result.capabilities = sorted(k for k in xaddrs if k != "devicemgmt")
    result.service_addresses = dict(xaddrs)
    return xaddrs


async def _read_media(media: Any, result: OnvifResult, step: _Step) -> None:
    profiles = await media.GetProfiles()
    for p in profiles or []:
        token = _str(_g(p, "token"))
        if token is None:
            continue
        enc = _g(p, "VideoEncoderConfiguration")
        fps = _g(enc, "RateControl", "FrameRateLimit")
        result.profiles.append(MediaProfile(
            token=token, name=_str(_g(p, "Name")),
            encoding=_str(_g(enc, "Encoding")),
            width=_int(_g(enc, "Resolution", "Width")),
            height=_int(_g(enc, "Resolution", "Height")),
            fps=float(fps) if isinstance(fps, (int, float)) else None,
            bitrate_kbps=_int(_g(enc, "RateControl", "BitrateLimit"))))
    if not result.profiles:
        result.warnings.append(ProbeError("unsupported", "no media profiles", "onvif"))
        return
    first = result.profiles[0]
    stream = await step.optional("GetStreamUri", media.GetStreamUri(
        StreamSetup={"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
        ProfileToken=first.token))
    snap = await step.optional("GetSnapshotUri", media.GetSnapshotUri(ProfileToken=first.token))
    # URIs are kept as the device gave them (credentials stripped): the frame grab needs
    # the device's own path; the host is pinned to the target by the frame probe.
    first.stream_uri = result.stream_uri = _strip_creds(_g(stream, "Uri"))
    first.snapshot_uri = result.snapshot_uri = _strip_creds(_g(snap, "Uri"))


async def _read_recordings(pool: OnvifPool, target: DeviceTarget, xaddrs: dict[str, str],
                           dt_diff: Optional[timedelta], result: OnvifResult,
                           step: _Step) -> None:
    """Per-recording status and span: FindRecordings + GetRecordingSearchResults (two calls
    for any number of channels), else GetRecordingSummary (totals only)."""
    if "search" not in xaddrs and "recording" not in xaddrs:
        result.warnings.append(ProbeError("unsupported", "NVR exposes no recording/search "
                                          "service", "onvif"))
        return
    summary = RecordingSummary()
    infos: list[Any] = []
    now = datetime.now(timezone.utc)
    if "search" in xaddrs:
        search = await pool.service("search", xaddrs["search"], target.username,
                                    target.password, dt_diff)
        found = await step.optional("FindRecordings", search.FindRecordings(
            Scope={}, MaxMatches=1000, KeepAliveTime="PT10S"))
        token = _str(found) if isinstance(found, str) else _str(_g(found, "SearchToken"))
        if token:
            res = await step.optional("GetRecordingSearchResults",
                                      search.GetRecordingSearchResults(
                                          SearchToken=token, MaxResults=1000, WaitTime="PT2S"))
            infos = list(_g(res, "RecordingInformation") or [])
        if not infos:
            s = await step.optional("GetRecordingSummary", search.GetRecordingSummary())
            if s is not None:
                summary.earliest = _to_utc(_g(s, "DataFrom"))
                summary.latest = _to_utc(_g(s, "DataUntil"))
                summary.count = _int(_g(s, "NumberRecordings")) or 0
    spans = []
    for info in infos:
        a = _to_utc(_g(info, "EarliestRecording"))
        b = _to_utc(_g(info, "LatestRecording"))
        status = (_str(_g(info, "RecordingStatus")) or "").lower()
        name = _str(_g(info, "Source", "Name")) or _str(_g(info, "RecordingToken")) or "?"
        summary.count += 1
        if a and (summary.earliest is None or a < summary.earliest):
            summary.earliest = a
        if b and (summary.latest is None or b > summary.latest):
            summary.latest = b
        if a and b:
            spans.append((b - a).total_seconds() / 86400)
        recording = status == "recording" if status else (
            b is not None and (now - b).total_seconds() <= 300)
        if not recording:
            summary.stopped.append(name)
    if infos:
        summary.recording_now = not summary.stopped
        summary.min_span_days = round(min(spans), 3) if spans else None
    elif summary.latest is not None:
        # Totals only: data that ends within 5 minutes means "still recording".
        summary.recording_now = (now - summary.latest).total_seconds() <= 300
    if summary.earliest and summary.latest:
        summary.span_days = round((summary.latest - summary.earliest).total_seconds() / 86400, 3)
    result.recordings = summary
