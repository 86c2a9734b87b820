"""WS-Discovery answers compared with the inventory.

Found devices are matched to inventory devices by MAC first (from the endpoint
reference), then by address. The report lists: devices found but not in the inventory
(`new`), inventory devices that did not answer although their address was probed
(`silent`), and `mismatches`: the device with this MAC answers at another address, or the
device at this address is another one (MAC or model differs from the inventory).
"""
from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from probes.discovery import Found, hosts_of, probe_multicast, probe_unicast

from supervisor.core.choices import DeviceKind, Lifecycle
from supervisor.inventory.models import Community, Device

ONVIF_KINDS = (DeviceKind.CAMERA, DeviceKind.NVR)


class DiscoveryError(ValueError):
    pass


@dataclass
class DiscoveryReport:
    probed: int = 0
    found: list[dict[str, Any]] = field(default_factory=list)
    new: list[dict[str, Any]] = field(default_factory=list)
    silent: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    matched: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mac(v: Optional[str]) -> Optional[str]:
    if not v:
        return None
    h = "".join(c for c in v.lower() if c in "0123456789abcdef")
    return h if len(h) == 12 else None


def _dev(d: Device) -> dict[str, Any]:
    return {"serial": d.serial, "name": d.name, "ip": d.ip, "kind": d.kind, "model": d.model,
            "vendor": d.vendor, "mac": d.mac, "community_id": d.community_id}


def compare(found: list[Found], inventory: list[Device], scope: list[Device],
            probed: set[str]) -> DiscoveryReport:
    """Pure comparison. `inventory`: every device (for MAC/address lookups), `scope`: the
    devices expected to answer (their address was probed)."""
    rep = DiscoveryReport(probed=len(probed), found=[f.to_dict() for f in found])
    by_mac = {_mac(d.mac): d for d in inventory if _mac(d.mac)}
    by_ip = {d.ip: d for d in inventory}
    answered: set[int] = set()
    for f in found:
        fmac = _mac(f.mac)
        dev = by_mac.get(fmac) if fmac else None
        problems = []
        if dev is not None:
            if dev.ip != f.address:
                problems.append(f"answers at {f.address}, inventory says {dev.ip}")
        else:
            dev = by_ip.get(f.address)
            if dev is None:
                rep.new.append(f.to_dict())
                continue
            if fmac and _mac(dev.mac) and fmac != _mac(dev.mac):
                problems.append(f"MAC {f.mac} ≠ {dev.mac}: another device at this address")
        answered.add(dev.id)
        if f.hardware and dev.model and f.hardware.lower() != dev.model.lower():
            problems.append(f"model {f.hardware} ≠ {dev.model}")
        entry = {**_dev(dev), "found": f.to_dict()}
        if problems:
            rep.mismatches.append({**entry, "what": "; ".join(problems)})
        else:
            rep.matched.append(entry)
    for d in scope:
        if d.id not in answered and d.ip in probed:
            rep.silent.append(_dev(d))
    return rep


def discover(session: Session, *, community: Optional[Community] = None, cidr: Optional[str] = None,
             port: int = 3702, timeout: float = 2.0, multicast: bool = False,
             progress: Optional[Callable[[str], None]] = None) -> DiscoveryReport:
    inventory = list(session.scalars(sa.select(Device).where(
        Device.lifecycle != Lifecycle.RETIRED)))
    scope = [d for d in inventory if d.kind in ONVIF_KINDS
             and (community is None or d.community_id == community.id)]
    if cidr:
        try:
            hosts = hosts_of(cidr)
        except ValueError as exc:
            raise DiscoveryError(str(exc)) from None
    else:
        hosts = sorted({d.ip for d in scope})
    if not hosts and not multicast:
        raise DiscoveryError("nothing to probe: give --range or a community with ONVIF devices")
    if progress:
        progress(f"probing {len(hosts)} addresses (WS-Discovery, UDP {port})")
    found = asyncio.run(probe_unicast(hosts, port=port, timeout=timeout)) if hosts else []
    if multicast:
        seen = {f.epr for f in found}
        found += [f for f in probe_multicast(timeout) if f.epr not in seen]
    probed = set(hosts)
    if cidr:
        # Inventory devices in the range are expected to answer as well.
        scope = [d for d in inventory if d.kind in ONVIF_KINDS and d.ip in probed
                 and (community is None or d.community_id == community.id)]
    session.rollback()
    return compare(found, inventory, scope, probed)


ADD_COLUMNS = ("community", "district", "community_type", "name", "kind", "role", "vendor",
               "model", "serial", "mac", "ip", "onvif_port", "username", "password", "contract",
               "upstream", "installed_on")


def add_found(community: Community, fields: dict[str, str], actor: Any) -> tuple[bool, list[str]]:
    """Add one found device to the inventory through the import's own validation
    (parse_upload + apply_plan: one row, rejected whole with every problem named).
    Returns (added, problems)."""
    import csv
    import io

    from supervisor.inventory.importer import ImportRejected, apply_plan, parse_upload

    row = {k: (fields.get(k) or "").strip() for k in ADD_COLUMNS}
    row.update(community=community.name, district=community.district,
               community_type=community.type)
    if not row["installed_on"]:
        # It answered on the network: it is installed (by today at the latest).
        from supervisor.core import localtime
        from supervisor.core.clock import now
        row["installed_on"] = localtime.to_local(now()).date().isoformat()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ADD_COLUMNS)
    w.writeheader()
    w.writerow(row)
    plan = parse_upload("discovered.csv", buf.getvalue().encode("utf-8"))
    if not plan.ok:
        return False, plan.error_lines()
    try:
        apply_plan(plan, actor)
    except ImportRejected as exc:
        return False, [str(e) for e in getattr(exc, "errors", [])] or [str(exc)]
    return True, []
