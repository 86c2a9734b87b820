"""ONVIF SOAP answers (device, media, and for NVRs recording + search: Profile G).

Answers are built from string templates (cheap at 10,000 devices) whose element order
follows the ONVIF schemas, so zeep (onvif-zeep-async) accepts them unchanged. Requests
are parsed with lxml; WS-Security UsernameToken PasswordDigest is checked as cameras do:
digest = Base64(SHA1(nonce + created + password)). A wrong password gives a SOAP fault
(ter:NotAuthorized, HTTP 400), never a hang. GetSystemDateAndTime needs no auth.
A digest token's Created time must lie within ``wsse_window_s`` (fleet-wide, default 60 s,
per device through the ``wsse_window_s`` param; 0 turns the check off) of the *device's*
clock, as real cameras check it: with clock drift only clients that compensate the offset
(read GetSystemDateAndTime first, shift Created) get in, and the refusal looks exactly
like a wrong password (ter:NotAuthorized), as it does in the field.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from xml.sax.saxutils import escape

from lxml import etree

from . import ptz
from .faults import VENDOR_DEFAULT_LOGINS, DeviceState

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
NS_RECORDING = "http://www.onvif.org/ver10/recording/wsdl"
NS_SEARCH = "http://www.onvif.org/ver10/search/wsdl"
NS_PTZ = ptz.NS_PTZ
PRE_AUTH = {"GetSystemDateAndTime"}
MEDIA_OPS = {"GetProfiles", "GetSnapshotUri", "GetStreamUri"}
# foreign_xaddr quirk: the address a NATed camera believes it has. Loopback (nothing
# listens there), so a client that wrongly follows it gets "refused", never leaves the host.
FOREIGN_HOST = "127.80.255.254"

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:trc="http://www.onvif.org/ver10/recording/wsdl" '
    'xmlns:tse="http://www.onvif.org/ver10/search/wsdl" '
    'xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" '
    'xmlns:tr2="http://www.onvif.org/ver20/media/wsdl" '
    'xmlns:ter="http://www.onvif.org/ver10/error">'
    '<s:Body>{body}</s:Body></s:Envelope>'
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class SoapError(Exception):
    def __init__(self, subcode: str, reason: str, sender: bool = True):
        super().__init__(reason)
        self.subcode, self.reason, self.sender = subcode, reason, sender


def fault_body(err: SoapError) -> str:
    code = "s:Sender" if err.sender else "s:Receiver"
    return ('<s:Fault><s:Code><s:Value>{c}</s:Value><s:Subcode><s:Value>{sc}</s:Value>'
            '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{r}</s:Text></s:Reason>'
            '</s:Fault>').format(c=code, sc=err.subcode, r=escape(err.reason))


def parse_request(body: bytes) -> tuple[str, etree._Element, etree._Element | None]:
    """Return (operation name, operation element, UsernameToken element or None)."""
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SoapError("ter:WellFormed", f"malformed request: {exc}") from None
    b = root.find(f"{{{NS_SOAP}}}Body")
    if b is None or len(b) == 0:
        raise SoapError("ter:InvalidArgVal", "no SOAP 1.2 Body")
    op = b[0]
    token = root.find(f"{{{NS_SOAP}}}Header/{{{NS_WSSE}}}Security/{{{NS_WSSE}}}UsernameToken")
    return etree.QName(op).localname, op, token


def created_offset(token: etree._Element, device_clock: float) -> float | None:
    """Created minus the device clock in seconds, or None when Created is missing/bad."""
    text = (token.findtext(f"{{{NS_WSU}}}Created") or "").strip()
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.timestamp() - device_clock


def check_token(token: etree._Element | None, username: str, password: str,
                device_clock: float | None = None, window_s: float = 0.0) -> bool:
    """True when the UsernameToken carries this user and a valid digest (or text), and,
    when ``window_s`` > 0, a digest's Created is within ``window_s`` of ``device_clock``."""
    if token is None:
        return False
    user = token.findtext(f"{{{NS_WSSE}}}Username") or ""
    pw_el = token.find(f"{{{NS_WSSE}}}Password")
    if pw_el is None or not hmac.compare_digest(user.encode(), username.encode()):
        return False
    given = (pw_el.text or "").strip()
    if (pw_el.get("Type") or "").endswith("#PasswordText"):
        return hmac.compare_digest(given.encode(), password.encode())
    nonce_b64 = token.findtext(f"{{{NS_WSSE}}}Nonce") or ""
    created = token.findtext(f"{{{NS_WSU}}}Created") or ""
    try:
        nonce = base64.b64decode(nonce_b64.strip(), validate=False)
    except ValueError:
        return False
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    if not hmac.compare_digest(digest, given.encode()):
        return False
    if window_s > 0 and device_clock is not None:
        off = created_offset(token, device_clock)
        if off is None or abs(off) > window_s:
            return False
    return True


def _dt_xml(t: dt.datetime) -> str:
    return (f"<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
            f"<tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year>"
            f"<tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date>")


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class OnvifContext:
    """What the answers need beyond the device: fleet lookups and clocks."""

    def __init__(self, states: dict[str, DeviceState], wsse_window_s: float = 60.0):
        self.states = states
        self.wsse_window_s = wsse_window_s

    # -- device service -------------------------------------------------------
    def device_information(self, d: DeviceState, now: float) -> str:
        s = d.spec
        return ("<tds:GetDeviceInformationResponse><tds:Manufacturer>{}</tds:Manufacturer>"
                "<tds:Model>{}</tds:Model><tds:FirmwareVersion>{}</tds:FirmwareVersion>"
                "<tds:SerialNumber>{}</tds:SerialNumber><tds:HardwareId>{}</tds:HardwareId>"
                "</tds:GetDeviceInformationResponse>").format(
            escape(s.vendor), escape(s.model), escape(s.firmware), escape(s.serial),
            f"{s.enterprise:X}-{s.kind}")

    def system_date_and_time(self, d: DeviceState, now: float) -> str:
        clock = d.device_clock(now)
        utc = dt.datetime.fromtimestamp(clock, dt.timezone.utc)
        local = utc + dt.timedelta(hours=8)       # the city's zone, China Standard Time
        if "local_time_only" in d.faults or "local_time_iana" in d.faults:
            # Firmwares that report only their wall clock and a zone to interpret it by.
            tz = "Asia/Shanghai" if "local_time_iana" in d.faults else "CST-8"
            return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                    "<tt:DateTimeType>Manual</tt:DateTimeType>"
                    "<tt:DaylightSavings>false</tt:DaylightSavings>"
                    f"<tt:TimeZone><tt:TZ>{tz}</tt:TZ></tt:TimeZone>"
                    f"<tt:LocalDateTime>{_dt_xml(local)}</tt:LocalDateTime>"
                    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")
        dtt = "Manual" if "no_ntp" in d.faults else "NTP"
        return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                f"<tt:DateTimeType>{dtt}</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
                "<tt:TimeZone><tt:TZ>CST-8:00:00</tt:TZ></tt:TimeZone>"
                f"<tt:UTCDateTime>{_dt_xml(utc)}</tt:UTCDateTime>"
                f"<tt:LocalDateTime>{_dt_xml(local)}</tt:LocalDateTime>"
                "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")

    def _base(self, d: DeviceState) -> str:
        if "foreign_xaddr" in d.faults:
            return f"http://{FOREIGN_HOST}:{d.spec.onvif_port}"
        return f"http://{d.spec.ip}:{d.spec.onvif_port}"

    def _path(self, d: DeviceState, service: str) -> str:
        """A service's path; a NATed firmware here uses its own path layout."""
        if "foreign_xaddr" in d.faults:
            return f"/onvif/nat/{service}_service"
        return f"/onvif/{service}_service"

    def services(self, d: DeviceState, now: float) -> str:
        base = self._base(d)
        p = lambda name: self._path(d, name)  # noqa: E731
        items = [(NS_DEVICE, p("device"), 2, 60)]
        if d.spec.kind in ("camera", "nvr"):
            if "media2_only" not in d.faults:
                items.append((NS_MEDIA, p("media"), 2, 60))
            if "media2_only" in d.faults or "media10_broken" in d.faults:
                items.append((NS_MEDIA2, p("media2"), 2, 60))
        if d.ptz is not None:
            items.append((NS_PTZ, p("ptz"), 2, 60))
        if d.spec.kind == "nvr":
            items += [(NS_RECORDING, p("recording"), 2, 42),
                      (NS_SEARCH, p("search"), 2, 42)]
        parts = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{base}{path}</tds:XAddr>"
            f"<tds:Version><tt:Major>{ma}</tt:Major><tt:Minor>{mi}</tt:Minor></tds:Version></tds:Service>"
            for ns, path, ma, mi in items)
        return f"<tds:GetServicesResponse>{parts}</tds:GetServicesResponse>"

    def capabilities(self, d: DeviceState, now: float) -> str:
        base = self._base(d)
        base_dev = base + ("/onvif/nat" if "foreign_xaddr" in d.faults else "/onvif")
        ext = ""
        if d.spec.kind == "nvr":
            ext = (f"<tt:Extension><tt:Recording><tt:XAddr>{base_dev}/recording_service</tt:XAddr>"
                   "<tt:ReceiverSource>false</tt:ReceiverSource><tt:MediaProfileSource>true</tt:MediaProfileSource>"
                   "<tt:DynamicRecordings>false</tt:DynamicRecordings><tt:DynamicTracks>false</tt:DynamicTracks>"
                   "<tt:MaxStringLength>64</tt:MaxStringLength></tt:Recording>"
                   f"<tt:Search><tt:XAddr>{base_dev}/search_service</tt:XAddr>"
                   "<tt:MetadataSearch>false</tt:MetadataSearch></tt:Search></tt:Extension>")
        media = ""
        if d.spec.kind in ("camera", "nvr") and "media2_only" not in d.faults:
            media = (f"<tt:Media><tt:XAddr>{base_dev}/media_service</tt:XAddr><tt:StreamingCapabilities>"
                     "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
                     "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>")
        if d.ptz is not None:
            media += f"<tt:PTZ><tt:XAddr>{base_dev}/ptz_service</tt:XAddr></tt:PTZ>"
        return ("<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{base_dev}/device_service</tt:XAddr>"
                "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>"
                "<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>"
                "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>"
                "<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>"
                "<tt:SystemLogging>true</tt:SystemLogging><tt:FirmwareUpgrade>true</tt:FirmwareUpgrade>"
                "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions>"
                "</tt:System></tt:Device>"
                f"{media}{ext}</tds:Capabilities></tds:GetCapabilitiesResponse>")

    def scopes(self, d: DeviceState, now: float) -> str:
        s = d.spec
        items = ["onvif://www.onvif.org/Profile/Streaming", f"onvif://www.onvif.org/type/{'NetworkVideoRecorder' if s.kind == 'nvr' else 'video_encoder'}",
                 f"onvif://www.onvif.org/hardware/{s.model}", f"onvif://www.onvif.org/name/{s.vendor}",
                 f"onvif://www.onvif.org/location/city/{s.district}"]
        if s.kind == "nvr":
            items.insert(1, "onvif://www.onvif.org/Profile/G")
        return "<tds:GetScopesResponse>" + "".join(
            f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{escape(i)}</tt:ScopeItem></tds:Scopes>"
            for i in items) + "</tds:GetScopesResponse>"

    def network_interfaces(self, d: DeviceState, now: float) -> str:
        s = d.spec
        return ("<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"eth0\">"
                "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
                f"<tt:HwAddress>{s.mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
                "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
                f"<tt:Address>{s.ip}</tt:Address><tt:PrefixLength>8</tt:PrefixLength></tt:Manual>"
                "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
                "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>")

    def ntp(self, d: DeviceState, now: float) -> str:
        return ("<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP>"
                "<tt:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>127.0.0.1</tt:IPv4Address>"
                "</tt:NTPManual></tds:NTPInformation></tds:GetNTPResponse>")

    def hostname(self, d: DeviceState, now: float) -> str:
        return ("<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
                f"<tt:Name>{escape(d.spec.serial)}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>")

    # -- media service --------------------------------------------------------
    def _profiles(self, d: DeviceState) -> list[tuple[str, str, int, int, int, int]]:
        """(token, name, width, height, fps, kbps): a main and a sub stream."""
        if d.spec.kind == "camera":
            hi = (2688, 1520) if "3T86" in d.spec.model or "3849" in d.spec.model else (1920, 1080)
            if "low_resolution" in d.faults:
                hi = (1280, 720)
            return [("Profile_1", "mainStream", hi[0], hi[1], 25, 4096),
                    ("Profile_2", "subStream", 640, 360, 15, 512)]
        if d.spec.kind == "nvr":
            return [("Profile_1", "channel1", 1920, 1080, 25, 4096)]
        return []

    def profiles(self, d: DeviceState, now: float) -> str:
        out = []
        for token, name, w, h, fps, kbps in self._profiles(d):
            out.append(
                f'<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
                '<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name>'
                '<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>'
                f'<tt:Bounds x="0" y="0" width="{w}" height="{h}"/></tt:VideoSourceConfiguration>'
                f'<tt:VideoEncoderConfiguration token="VideoEncoder_{token[-1]}"><tt:Name>{name}</tt:Name>'
                '<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>'
                f'<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>'
                '<tt:Quality>4</tt:Quality><tt:RateControl>'
                f'<tt:FrameRateLimit>{fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>'
                f'<tt:BitrateLimit>{kbps}</tt:BitrateLimit></tt:RateControl>'
                '<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>'
                '<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>'
                '</tt:Address><tt:Port>0</tt:Port><tt:TTL>5</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>'
                '<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>'
                + (ptz.configuration() if d.ptz is not None else "") + '</trt:Profiles>')
        return "<trt:GetProfilesResponse>" + "".join(out) + "</trt:GetProfilesResponse>"

    def _token(self, d: DeviceState, op: etree._Element) -> str:
        token = ""
        for el in op.iter():
            if etree.QName(el).localname == "ProfileToken":
                token = (el.text or "").strip()
        if token not in {p[0] for p in self._profiles(d)}:
            raise SoapError("ter:InvalidArgVal/ter:NoProfile", f"no profile {token!r}")
        return token

    def snapshot_uri(self, d: DeviceState, now: float, op: etree._Element) -> str:
        token = self._token(d, op)
        if "no_snapshot" in d.faults:
            raise SoapError("ter:ActionNotSupported", "snapshots are not supported")
        return ("<trt:GetSnapshotUriResponse><trt:MediaUri>"
                f"<tt:Uri>{escape(self._snapshot_url(d, token))}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
                "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
                "</trt:MediaUri></trt:GetSnapshotUriResponse>")

    def _snapshot_url(self, d: DeviceState, token: str) -> str:
        base = self._base(d)
        if "snapshot_uri_creds" in d.faults:
            # Firmwares that put the account in the URI (the client must not log it).
            base = base.replace("http://", f"http://{d.spec.username}:{d.spec.password}@", 1)
        url = f"{base}/onvif/snapshot?profile={token}"
        if "snapshot_uri_creds" in d.faults:
            url += f"&user={d.spec.username}&pwd={d.spec.password}"
        return url

    def _stream_url(self, d: DeviceState, token: str) -> str:
        host = FOREIGN_HOST if "foreign_xaddr" in d.faults else d.spec.ip
        return f"rtsp://{host}:{d.rtsp_port or 554}/Streaming/Channels/{token[-1]}01"

    def stream_uri(self, d: DeviceState, now: float, op: etree._Element) -> str:
        token = self._token(d, op)
        return ("<trt:GetStreamUriResponse><trt:MediaUri>"
                f"<tt:Uri>{self._stream_url(d, token)}</tt:Uri>"
                "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
                "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
                "</trt:MediaUri></trt:GetStreamUriResponse>")

    # -- media2 service (ver20: Media2-only firmwares, H.265) --------------------
    def media2_profiles(self, d: DeviceState, now: float) -> str:
        out = []
        for token, name, w, h, fps, kbps in self._profiles(d):
            out.append(
                f'<tr2:Profiles token="{token}" fixed="true"><tr2:Name>{name}</tr2:Name><tr2:Configurations>'
                '<tr2:VideoSource token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name>'
                '<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>'
                f'<tt:Bounds x="0" y="0" width="{w}" height="{h}"/></tr2:VideoSource>'
                f'<tr2:VideoEncoder token="VideoEncoder_{token[-1]}" GovLength="50" Profile="Main">'
                f'<tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H265</tt:Encoding>'
                f'<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>'
                f'<tt:RateControl ConstantBitRate="false"><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>'
                f'<tt:BitrateLimit>{kbps}</tt:BitrateLimit></tt:RateControl><tt:Quality>4</tt:Quality>'
                '</tr2:VideoEncoder></tr2:Configurations></tr2:Profiles>')
        return "<tr2:GetProfilesResponse>" + "".join(out) + "</tr2:GetProfilesResponse>"

    def media2_snapshot_uri(self, d: DeviceState, now: float, op: etree._Element) -> str:
        token = self._token(d, op)
        if "no_snapshot" in d.faults:
            raise SoapError("ter:ActionNotSupported", "snapshots are not supported")
        return (f"<tr2:GetSnapshotUriResponse><tr2:Uri>{escape(self._snapshot_url(d, token))}"
                "</tr2:Uri></tr2:GetSnapshotUriResponse>")

    def media2_stream_uri(self, d: DeviceState, now: float, op: etree._Element) -> str:
        token = self._token(d, op)
        return (f"<tr2:GetStreamUriResponse><tr2:Uri>{self._stream_url(d, token)}</tr2:Uri>"
                "</tr2:GetStreamUriResponse>")

    # -- recording + search (NVR, Profile G) ----------------------------------
    def recordings(self, d: DeviceState, now: float) -> list[tuple[str, DeviceState, float, float]]:
        """(token, camera, data_from, data_to) for each camera this NVR records.
        Recording stops at the start of a recording_loss fault on the NVR or camera."""
        if d.spec.kind != "nvr":
            return []
        out = []
        cams = [s for s in self.states.values()
                if s.spec.community_index == d.spec.community_index and s.spec.kind == "camera"]
        for i, cam in enumerate(cams, 1):
            start = d.boot_time - 30 * 86400.0   # thirty days retained at start-up
            if "short_retention" in d.faults:
                start = now - d.param("retention_days") * 86400.0
            end = now
            for holder in (d, cam):
                if "recording_loss" in holder.faults:
                    end = min(end, holder.faults["recording_loss"])
            out.append((f"Recording_{i:03d}", cam, start, max(start, end)))
        return out

    def recording_summary(self, d: DeviceState, now: float) -> str:
        if d.spec.kind != "nvr":
            raise SoapError("ter:ActionNotSupported", "no recording service on this device")
        recs = self.recordings(d, now)
        first = min((r[2] for r in recs), default=d.boot_time)
        last = max((r[3] for r in recs), default=d.boot_time)
        return ("<tse:GetRecordingSummaryResponse><tse:Summary>"
                f"<tt:DataFrom>{_iso(first)}</tt:DataFrom>"
                f"<tt:DataUntil>{_iso(last)}</tt:DataUntil>"
                f"<tt:NumberRecordings>{len(recs)}</tt:NumberRecordings>"
                "</tse:Summary></tse:GetRecordingSummaryResponse>")

    def _source(self, cam: DeviceState) -> str:
        return (f"<tt:SourceId>http://{cam.spec.ip}:{cam.spec.onvif_port}/onvif/device_service</tt:SourceId>"
                f"<tt:Name>{escape(cam.spec.serial)}</tt:Name><tt:Location>{escape(cam.spec.community)}</tt:Location>"
                f"<tt:Description>{escape(cam.spec.name)}</tt:Description>"
                f"<tt:Address>http://{cam.spec.ip}:{cam.spec.onvif_port}/onvif/device_service</tt:Address>")

    def get_recordings(self, d: DeviceState, now: float) -> str:
        if d.spec.kind != "nvr":
            raise SoapError("ter:ActionNotSupported", "no recording service on this device")
        items = "".join(
            f"<trc:RecordingItem><tt:RecordingToken>{tok}</tt:RecordingToken><tt:Configuration>"
            f"<tt:Source>{self._source(cam)}</tt:Source><tt:Content>continuous</tt:Content>"
            "<tt:MaximumRetentionTime>P30D</tt:MaximumRetentionTime></tt:Configuration>"
            "<tt:Tracks><tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken><tt:Configuration>"
            "<tt:TrackType>Video</tt:TrackType><tt:Description>video</tt:Description>"
            "</tt:Configuration></tt:Track></tt:Tracks></trc:RecordingItem>"
            for tok, cam, _a, _b in self.recordings(d, now))
        return f"<trc:GetRecordingsResponse>{items}</trc:GetRecordingsResponse>"

    def _recording_information(self, tok: str, cam: DeviceState, a: float, b: float, now: float,
                               tag: str) -> str:
        status = "Recording" if b >= now - 1 else "Stopped"
        return (f"<{tag}><tt:RecordingToken>{tok}</tt:RecordingToken><tt:Source>{self._source(cam)}</tt:Source>"
                f"<tt:EarliestRecording>{_iso(a)}</tt:EarliestRecording><tt:LatestRecording>{_iso(b)}</tt:LatestRecording>"
                "<tt:Content>continuous</tt:Content><tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken>"
                "<tt:TrackType>Video</tt:TrackType><tt:Description>video</tt:Description>"
                f"<tt:DataFrom>{_iso(a)}</tt:DataFrom><tt:DataTo>{_iso(b)}</tt:DataTo></tt:Track>"
                f"<tt:RecordingStatus>{status}</tt:RecordingStatus></{tag}>")

    def find_recordings(self, d: DeviceState, now: float) -> str:
        if d.spec.kind != "nvr":
            raise SoapError("ter:ActionNotSupported", "no search service on this device")
        # Searches are answered at once, so the token only has to be recognisable.
        return f"<tse:FindRecordingsResponse><tse:SearchToken>search-{int(now)}</tse:SearchToken></tse:FindRecordingsResponse>"

    def recording_search_results(self, d: DeviceState, now: float) -> str:
        if d.spec.kind != "nvr":
            raise SoapError("ter:ActionNotSupported", "no search service on this device")
        infos = "".join(self._recording_information(t, c, a, b, now, "tt:RecordingInformation")
                        for t, c, a, b in self.recordings(d, now))
        return ("<tse:GetRecordingSearchResultsResponse><tse:ResultList><tt:SearchState>Completed</tt:SearchState>"
                f"{infos}</tse:ResultList></tse:GetRecordingSearchResultsResponse>")

    def recording_information(self, d: DeviceState, now: float, op: etree._Element) -> str:
        want = (op.findtext(f"{{{NS_SEARCH}}}RecordingToken") or "").strip()
        for t, c, a, b in self.recordings(d, now):
            if t == want:
                return ("<tse:GetRecordingInformationResponse>"
                        + self._recording_information(t, c, a, b, now, "tse:RecordingInformation")
                        + "</tse:GetRecordingInformationResponse>")
        raise SoapError("ter:InvalidArgVal/ter:NoRecording", f"no recording {want!r}")

    # -- dispatch -------------------------------------------------------------
    def answer(self, d: DeviceState, path: str, body: bytes, now: float,
               password_ok: bool = True, wsse: bool = True) -> tuple[int, str]:
        """Return (HTTP status, SOAP envelope text) for one request."""
        try:
            return 200, ENVELOPE.format(body=self.answer_body(d, path, body, now, password_ok,
                                                              wsse))
        except SoapError as err:
            return (400 if err.sender else 500), ENVELOPE.format(body=fault_body(err))

    def answer_body(self, d: DeviceState, path: str, body: bytes, now: float,
                    password_ok: bool = True, wsse: bool = True) -> str:
        """The answer's Body content; a SoapError for a fault. ``wsse=False``: the
        request was already authenticated another way (HTTP Digest), tokens are ignored."""
        op_name, op, token = parse_request(body)
        if op_name not in PRE_AUTH:
            if not password_ok:
                raise SoapError("ter:NotAuthorized", "Sender not Authorized")
            if wsse:
                window = float(d.params.get("wsse_window_s", self.wsse_window_s))
                if not check_token(token, d.spec.username, d.spec.password,
                                   d.device_clock(now), window) and not (
                        "default_password" in d.faults and d.spec.vendor in VENDOR_DEFAULT_LOGINS
                        and check_token(token, *VENDOR_DEFAULT_LOGINS[d.spec.vendor],
                                        d.device_clock(now), window)):
                    raise SoapError("ter:NotAuthorized", "Sender not Authorized")
        return self._dispatch(d, path, op_name, op, now)

    def _dispatch(self, d: DeviceState, path: str, op_name: str, op: etree._Element, now: float) -> str:
        simple = {
            "GetDeviceInformation": self.device_information,
            "GetSystemDateAndTime": self.system_date_and_time,
            "GetServices": self.services,
            "GetCapabilities": self.capabilities,
            "GetScopes": self.scopes,
            "GetNetworkInterfaces": self.network_interfaces,
            "GetNTP": self.ntp,
            "GetHostname": self.hostname,
            "GetProfiles": self.profiles,
            "GetRecordingSummary": self.recording_summary,
            "GetRecordings": self.get_recordings,
            "FindRecordings": self.find_recordings,
            "GetRecordingSearchResults": self.recording_search_results,
        }
        with_op = {
            "GetSnapshotUri": self.snapshot_uri,
            "GetStreamUri": self.stream_uri,
            "GetRecordingInformation": self.recording_information,
        }
        if op_name in MEDIA_OPS and d.spec.kind not in ("camera", "nvr"):
            raise SoapError("ter:ActionNotSupported", "no media service on this device")
        ns = etree.QName(op).namespace
        q = d.faults
        if (op_name == "GetServices" and "no_get_services" in q) or (
                op_name == "GetCapabilities" and "no_get_capabilities" in q):
            raise SoapError("ter:ActionNotSupported", f"{op_name} is not supported")
        media2 = "media2_only" in q or "media10_broken" in q
        if op_name in MEDIA_OPS and ns == NS_MEDIA and media2:
            raise SoapError("ter:ActionNotSupported", "no ver10 media service on this device")
        if op_name in MEDIA_OPS and ns == NS_MEDIA2:
            if not media2:
                raise SoapError("ter:ActionNotSupported", "no media2 service on this device")
            if op_name == "GetProfiles":
                return self.media2_profiles(d, now)
            return (self.media2_snapshot_uri if op_name == "GetSnapshotUri"
                    else self.media2_stream_uri)(d, now, op)
        if op_name in ptz.PTZ_OPS and etree.QName(op).namespace == NS_PTZ:
            if d.ptz is None:
                raise SoapError("ter:ActionNotSupported", "no PTZ service on this device")
            try:
                return ptz.answer(d.ptz, op_name, op, now, d.device_clock(now),
                                  {p[0] for p in self._profiles(d)})
            except ptz.PtzError as err:
                raise SoapError(err.subcode, err.reason) from None
        if op_name in simple:
            return simple[op_name](d, now)
        if op_name in with_op:
            return with_op[op_name](d, now, op)
        raise SoapError("ter:ActionNotSupported", f"{op_name} is not supported")
