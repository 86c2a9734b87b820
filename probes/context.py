"""Shared per-process resources for a batch: pooled HTTP clients, the SNMP engine.

Created lazily so the fast tier (reach only) never imports zeep, httpx or pysnmp.
A scheduler may keep one ``ProbeContext`` across batches (connection pools and the
parsed WSDLs then survive between sweeps); ``run_batch`` makes and closes its own
when none is given. A context belongs to the event loop it was first used on (its
sockets and sessions do): keep one per loop, not across ``asyncio.run`` calls.
"""
from __future__ import annotations

from typing import Any, Optional

from probes.config import Limits


class ProbeContext:
    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or Limits()
        self._onvif: Any = None
        self._http: Any = None
        self._snmp: Any = None
        self._monitor: Any = None

    def monitor(self) -> Any:
        """The event loop's lag monitor (``probes.load.LoopMonitor``), one per context."""
        if self._monitor is None:
            from probes.load import LoopMonitor
            self._monitor = LoopMonitor(bound=self.limits.lag_bound_s)
        return self._monitor

    def onvif(self) -> Any:
        if self._onvif is None:
            from probes.onvif import OnvifPool
            self._onvif = OnvifPool(max_connections=self.limits.for_protocol("onvif"))
        return self._onvif

    def http(self) -> Any:
        """An httpx client for snapshots: pooled, one connection per host at a time."""
        if self._http is None:
            import logging

            import httpx
            # httpx logs every request at INFO (and onvif-zeep-async turns INFO on at
            # import): a sweep would write a line per snapshot. Warnings still show.
            logging.getLogger("httpx").setLevel(logging.WARNING)
            n = self.limits.for_protocol("frame")
            self._http = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                timeout=httpx.Timeout(30.0), follow_redirects=True, trust_env=False)
        return self._http

    def snmp(self) -> Any:
        if self._snmp is None:
            from probes.snmp import SnmpClient
            self._snmp = SnmpClient()
        return self._snmp

    async def aclose(self) -> None:
        if self._onvif is not None:
            await self._onvif.aclose()
            self._onvif = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._snmp is not None:
            self._snmp.close()
            self._snmp = None

    async def __aenter__(self) -> "ProbeContext":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
