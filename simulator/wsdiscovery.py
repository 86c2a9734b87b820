"""WS-Discovery responder: cameras and NVRs answer a Probe with a ProbeMatch, as real
ONVIF devices do (one UDP socket per device address, port 3702 by default).

A device answers only while it is reachable, only when the probe's Types (if any) name
something it is (NetworkVideoTransmitter, NetworkVideoRecorder, Device), and from its own
address, so a client sees exactly the devices that are up. The endpoint reference is a
``urn:uuid`` whose last group is the device's MAC (Hikvision and Dahua firmwares do the
same), the scopes carry model and vendor names, the XAddr points at the device service.
"""
from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Callable
from xml.sax.saxutils import escape

from lxml import etree

from .faults import DeviceState

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
ACTION_PROBE = NS_WSD + "/Probe"
ACTION_MATCHES = NS_WSD + "/ProbeMatches"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

MATCHES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
    '<SOAP-ENV:Header><wsa:MessageID>urn:uuid:{msg}</wsa:MessageID>'
    '<wsa:RelatesTo>{relates}</wsa:RelatesTo>'
    '<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>'
    '<wsa:Action>' + ACTION_MATCHES + '</wsa:Action>'
    '<d:AppSequence InstanceId="{instance}" MessageNumber="1"/></SOAP-ENV:Header>'
    '<SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>'
    '<wsa:EndpointReference><wsa:Address>{epr}</wsa:Address></wsa:EndpointReference>'
    '<d:Types>{types}</d:Types><d:Scopes>{scopes}</d:Scopes>'
    '<d:XAddrs>{xaddr}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>'
    '</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>')


def endpoint_reference(st: DeviceState) -> str:
    """urn:uuid:<stable per serial>-<MAC without colons>, as many firmwares build it."""
    h = uuid.uuid5(uuid.NAMESPACE_OID, st.spec.serial).hex
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{st.spec.mac.replace(':', '').lower()}"


def device_types(st: DeviceState) -> list[str]:
    if st.spec.kind == "nvr":
        return ["dn:NetworkVideoTransmitter", "tds:Device", "dn:NetworkVideoRecorder"]
    return ["dn:NetworkVideoTransmitter", "tds:Device"]


def _wanted(probe_types: list[str], mine: list[str]) -> bool:
    if not probe_types:
        return True
    local = {t.split(":")[-1] for t in mine}
    return any(t.split(":")[-1] in local for t in probe_types)


def parse_probe(data: bytes) -> tuple[str, list[str]] | None:
    """(MessageID, requested types) of a Probe, or None for anything else."""
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    action = root.findtext(f"{{{NS_SOAP}}}Header/{{{NS_WSA}}}Action")
    if (action or "").strip() != ACTION_PROBE:
        return None
    msg = (root.findtext(f"{{{NS_SOAP}}}Header/{{{NS_WSA}}}MessageID") or "").strip()
    types = root.findtext(f"{{{NS_SOAP}}}Body/{{{NS_WSD}}}Probe/{{{NS_WSD}}}Types") or ""
    return msg, types.split()


def probe_matches(st: DeviceState, relates_to: str) -> bytes:
    s = st.spec
    scopes = ["onvif://www.onvif.org/Profile/Streaming",
              f"onvif://www.onvif.org/type/{'NetworkVideoRecorder' if s.kind == 'nvr' else 'video_encoder'}",
              f"onvif://www.onvif.org/hardware/{s.model}", f"onvif://www.onvif.org/name/{s.vendor}",
              "onvif://www.onvif.org/location/country/china"]
    if s.kind == "nvr":
        scopes.insert(1, "onvif://www.onvif.org/Profile/G")
    return MATCHES.format(
        msg=uuid.uuid4(), relates=escape(relates_to), instance=int(st.boot_time) % (1 << 31),
        epr=endpoint_reference(st), types=" ".join(device_types(st)),
        scopes=escape(" ".join(scopes)),
        xaddr=f"http://{s.ip}:{s.onvif_port}/onvif/device_service").encode("utf-8")


class _Responder(asyncio.DatagramProtocol):
    def __init__(self, st: DeviceState, clock: Callable[[], float]) -> None:
        self.st, self.clock = st, clock
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[override]
        if self.st.reach(self.clock()) != "up":
            return                      # a device that is down says nothing
        probe = parse_probe(data)
        if probe is None or not _wanted(probe[1], device_types(self.st)):
            return
        if self.transport is not None:
            self.transport.sendto(probe_matches(self.st, probe[0]), addr)


class DiscoveryResponders:
    """One UDP responder per camera/NVR address."""

    def __init__(self, states: dict[str, DeviceState], port: int = 3702,
                 clock: Callable[[], float] = time.time) -> None:
        self.states, self.port, self.clock = states, port, clock
        self.transports: list[asyncio.BaseTransport] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for st in self.states.values():
            if st.spec.kind not in ("camera", "nvr"):
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((st.spec.ip, self.port))
            transport, _ = await loop.create_datagram_endpoint(
                lambda st=st: _Responder(st, self.clock), sock=sock)
            self.transports.append(transport)

    def stop(self) -> None:
        for t in self.transports:
            t.close()
        self.transports.clear()
