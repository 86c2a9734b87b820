"""WS-Discovery client: which ONVIF devices answer a Probe, unicast per address and multicast.

Messages are built and parsed by the `wsdiscovery` library (constructProbe /
createSOAPMessage / parseSOAPMessage). Multicast uses its ThreadedWSDiscovery; the
unicast probe (one datagram to port 3702 of every address of a range, answers collected
on one asyncio socket) is ours, because multicast does not cross the routers between the
platform and a community's network, while unicast to each address does.

Every answer becomes a ``Found``: the address it came from, its endpoint reference, the
MAC when the reference carries one (``urn:uuid:…-<12 hex>``, as many firmwares build it),
its types, scopes, XAddrs, and the model and vendor names its scopes give.
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional
from urllib.parse import unquote, urlsplit

from probes.model import _Serial

WSD_PORT = 3702
ONVIF_TYPES = (("http://www.onvif.org/ver10/network/wsdl", "NetworkVideoTransmitter", "dn"),)
_MAC_TAIL = re.compile(r"([0-9a-fA-F]{12})$")
MAX_RANGE = 65536


@dataclass
class Found(_Serial):
    address: str                                  # the IP the answer came from
    epr: Optional[str] = None
    mac: Optional[str] = None                     # aa:bb:cc:dd:ee:ff, from the EPR
    types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    xaddrs: list[str] = field(default_factory=list)
    hardware: Optional[str] = None                # onvif://www.onvif.org/hardware/<model>
    name: Optional[str] = None                    # onvif://www.onvif.org/name/<vendor or name>
    via: str = "unicast"                          # unicast | multicast
    port: Optional[int] = None                    # the device service's port (from XAddrs)

    @property
    def xaddr_host(self) -> Optional[str]:
        for x in self.xaddrs:
            try:
                host = urlsplit(x).hostname
            except ValueError:
                continue
            if host:
                return host
        return None


def hosts_of(cidr: str) -> list[str]:
    """The host addresses of a range ('10.1.2.0/24', or one address). Refuses huge ranges."""
    net = ipaddress.ip_network(cidr.strip(), strict=False)
    if net.num_addresses > MAX_RANGE:
        raise ValueError(f"range {cidr} has {net.num_addresses} addresses; at most {MAX_RANGE}")
    if net.num_addresses == 1:
        return [str(net.network_address)]
    return [str(h) for h in net.hosts()]


def _probe_message() -> tuple[str, bytes]:
    from wsdiscovery.actions.probe import constructProbe
    from wsdiscovery.message import createSOAPMessage
    from wsdiscovery.qname import QName
    env = constructProbe([QName(ns, local, prefix) for ns, local, prefix in ONVIF_TYPES], [])
    return env.getMessageId(), createSOAPMessage(env).encode("utf-8")


def _mac_from_epr(epr: Optional[str]) -> Optional[str]:
    if not epr:
        return None
    m = _MAC_TAIL.search(epr.strip())
    if not m:
        return None
    h = m.group(1).lower()
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def _scope_value(scopes: list[str], key: str) -> Optional[str]:
    prefix = f"onvif://www.onvif.org/{key}/"
    for s in scopes:
        if s.lower().startswith(prefix):
            return unquote(s[len(prefix):]) or None
    return None


def found_from(match: object, address: str, via: str) -> Found:
    """A Found from a wsdiscovery ProbeResolveMatch (or a Service: same getters)."""
    types = [str(t.getLocalname() if hasattr(t, "getLocalname") else t)
             for t in (getattr(match, "getTypes")() or [])]
    scopes = [str(s.getValue() if hasattr(s, "getValue") else s)
              for s in (getattr(match, "getScopes")() or [])]
    xaddrs = [str(x) for x in (getattr(match, "getXAddrs")() or [])]
    epr = str(getattr(match, "getEPR")() or "") or None
    port = None
    for x in xaddrs:
        try:
            port = urlsplit(x).port or (443 if x.startswith("https") else 80)
            break
        except ValueError:
            continue
    return Found(address=address, epr=epr, mac=_mac_from_epr(epr), types=types, scopes=scopes,
                 xaddrs=xaddrs, hardware=_scope_value(scopes, "hardware"),
                 name=_scope_value(scopes, "name"), via=via, port=port)


def parse_matches(data: bytes, address: str, message_id: Optional[str],
                  via: str = "unicast") -> list[Found]:
    """ProbeMatches in one datagram (answers to another probe or malformed ones: none)."""
    from wsdiscovery.message import parseSOAPMessage
    try:
        env = parseSOAPMessage(data.decode("utf-8", errors="replace"), address)
    except Exception:  # noqa: BLE001 - a broken answer is no answer
        return []
    if env is None or not hasattr(env, "getProbeResolveMatches"):
        return []
    if message_id and (env.getRelatesTo() or "").strip() != message_id:
        return []
    out = []
    for m in env.getProbeResolveMatches() or []:
        try:
            out.append(found_from(m, address, via))
        except Exception:  # noqa: BLE001
            continue
    return out


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.found: dict[str, Found] = {}
        self.answered: set[str] = set()

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[override]
        for f in parse_matches(data, addr[0], self.message_id):
            self.answered.add(addr[0])
            self.found.setdefault(f.epr or f.address, f)


async def probe_unicast(hosts: Iterable[str], *, port: int = WSD_PORT, timeout: float = 2.0,
                        rate_per_s: float = 2000.0) -> list[Found]:
    """Send one Probe to each host (paced at ``rate_per_s``), collect answers for ``timeout``
    seconds after the last one is sent (earlier when every host has answered)."""
    hosts = list(dict.fromkeys(hosts))
    message_id, payload = _probe_message()
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: _Collector(message_id), local_addr=("0.0.0.0", 0))
    try:
        gap = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        for i, host in enumerate(hosts):
            try:
                transport.sendto(payload, (host, port))
            except OSError:
                continue                 # an unroutable address: it simply won't answer
            if gap and i % 50 == 49:
                await asyncio.sleep(gap * 50)
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(proto.answered) < len(hosts):
            await asyncio.sleep(0.02)
    finally:
        transport.close()
    return sorted(proto.found.values(), key=lambda f: ipaddress.ip_address(f.address))


def probe_multicast(timeout: float = 3.0) -> list[Found]:
    """Multicast Probe through wsdiscovery's ThreadedWSDiscovery (blocking; run it in a
    thread from async code). Where the network drops multicast this returns nothing."""
    from wsdiscovery.qname import QName
    from wsdiscovery.threaded import ThreadedWSDiscovery
    wsd = ThreadedWSDiscovery()
    wsd.start()
    try:
        services = wsd.searchServices(
            types=[QName(ns, local, prefix) for ns, local, prefix in ONVIF_TYPES],
            timeout=timeout)
        out = []
        for s in services:
            xaddrs = list(s.getXAddrs() or [])
            host = None
            for x in xaddrs:
                try:
                    host = urlsplit(str(x)).hostname
                except ValueError:
                    host = None
                if host:
                    break
            out.append(found_from(s, host or "", "multicast"))
        return out
    finally:
        wsd.stop()
