"""Two ONVIF device-service calls that acceptance needs beyond the sweep probe.

``read_mac``: GetNetworkInterfaces' hardware address (the identity check compares it with
the inventory). ``try_login``: does GetDeviceInformation answer with these credentials (the
default-credentials check). Both go through the shared ``OnvifPool`` (pooled session,
parsed WSDLs) and return values, never raise.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Optional

from probes.errors import classify
from probes.model import DeviceTarget, ProbeError


def _xaddr(target: DeviceTarget) -> str:
    return f"http://{target.host}:{int(target.onvif_port or 80)}/onvif/device_service"


async def read_mac(pool: Any, target: DeviceTarget, timeout: float,
                   dt_diff: Optional[timedelta] = None) -> tuple[Optional[str], Optional[ProbeError]]:
    """(MAC as aa:bb:cc:dd:ee:ff of the first enabled interface, error)."""
    try:
        async with asyncio.timeout(timeout):
            dev = await pool.service("devicemgmt", _xaddr(target), target.username,
                                     target.password, dt_diff)
            nics = await dev.GetNetworkInterfaces()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        return None, classify(exc, "onvif")
    for nic in nics or []:
        hw = getattr(getattr(nic, "Info", None), "HwAddress", None)
        if hw:
            h = "".join(c for c in str(hw).lower() if c in "0123456789abcdef")
            if len(h) == 12:
                return ":".join(h[i:i + 2] for i in range(0, 12, 2)), None
    return None, ProbeError("unsupported", "no interface with a hardware address", "onvif")


async def try_login(pool: Any, target: DeviceTarget, username: str, password: str,
                    timeout: float, dt_diff: Optional[timedelta] = None
                    ) -> tuple[Optional[bool], Optional[ProbeError]]:
    """(True: logged in, False: refused as unauthorised, None: could not tell; error)."""
    try:
        async with asyncio.timeout(timeout):
            dev = await pool.service("devicemgmt", _xaddr(target), username, password, dt_diff)
            await dev.GetDeviceInformation()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        err = classify(exc, "onvif")
        return (False, None) if err.kind == "auth" else (None, err)
    return True, None
