"""pysnmp's UDP transport for SNMPv3, read through ``probes.udp.UdpEndpoint``.

pysnmp's own asyncio transport reads one datagram per turn of the event loop and then
defers it once more (``call_soon``), so on a busy loop the answers of a hundred v3
exchanges queue in the kernel while their timers run out. This transport reads all
that is queued at each wake-up, hands each datagram to the engine at once, and keeps,
per remote address, when we last sent and last heard (kernel receive time): the
session judges silence on those times, not on when the loop got round to it.
"""
from __future__ import annotations

import ipaddress
import time
from typing import Any, Optional

from pysnmp.carrier.asyncio.base import AbstractAsyncioTransport
from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

from probes.udp import UdpEndpoint


class DrainingUdpTransport(udp.UdpAsyncioTransport):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoint: Optional[UdpEndpoint] = None
        self.last_sent: dict[str, float] = {}
        self.last_heard: dict[str, float] = {}

    def open_client_mode(self, iface: Any = None, allow_broadcast: bool = False) -> Any:
        self.endpoint = UdpEndpoint(self._received).open(
            self.loop, iface if iface else ("0.0.0.0", 0))
        self.transport = self.endpoint      # send_message calls .sendto(data, addr)
        return self

    def _received(self, data: bytes, addr: tuple, arrival: float) -> None:
        self.last_heard[addr[0]] = arrival
        if self._callback_function is not None:
            self._callback_function(self, udp.UdpTransportAddress(addr), data)

    def send_message(self, outgoingMessage: Any, transportAddress: Any) -> None:
        self.last_sent[transportAddress[0]] = time.monotonic()
        super().send_message(outgoingMessage, transportAddress)

    def drain(self) -> None:
        if self.endpoint is not None:
            self.endpoint.drain()

    def close_transport(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
        self.transport = None
        AbstractAsyncioTransport.close_transport(self)


class DrainingUdpTarget(UdpTransportTarget):
    """A UDP target whose engine transport is ``DrainingUdpTransport``; IP literals are
    used as they are (pysnmp would resolve each through the thread pool)."""

    PROTO_TRANSPORT = DrainingUdpTransport

    async def _resolve_address(self, transportAddr: tuple) -> tuple:
        try:
            ipaddress.IPv4Address(transportAddr[0])
            return (transportAddr[0], int(transportAddr[1]))
        except ValueError:
            return await super()._resolve_address(transportAddr)


def engine_transport(engine: Any) -> Optional[DrainingUdpTransport]:
    """The engine's UDP transport, once the first request has opened it."""
    tr = engine.transport_dispatcher.get_transport(udp.DOMAIN_NAME) \
        if engine.transport_dispatcher is not None else None
    return tr if isinstance(tr, DrainingUdpTransport) else None
