"""The inventory CSV that `flask inventory import` reads: the English headers in
their order, then the importer's optional `contractor` column (who builds each contract),
so the file imports without --contractor, then the SNMP version and v3 credentials (per
contract, or per device with --snmp-v3-keys device) so sweeps probe v3 devices over v3, then the recording link (camera → NVR)."""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from .fleet import DeviceSpec

COLUMNS = ("community", "district", "community_type", "name", "kind", "role", "vendor",
           "model", "serial", "mac", "ip", "onvif_port", "snmp_port", "snmp_community",
           "username", "password", "upstream", "contract", "installed_on", "contractor",
           # Version 3 and its USM (authPriv) credentials for the devices that speak v3, else 2c.
           "snmp_version", "snmp_user", "snmp_auth_protocol", "snmp_auth_key",
           "snmp_priv_protocol", "snmp_priv_key",
           # The NVR that records each camera (the importer's optional recording link).
           "recorded_by")


def row(s: DeviceSpec) -> dict[str, str]:
    v3 = s.snmp_v3
    return {"snmp_version": "3" if v3 else "2c", "snmp_user": v3.user if v3 else "",
            "snmp_auth_protocol": v3.auth_protocol if v3 else "",
            "snmp_auth_key": v3.auth_key if v3 else "",
            "snmp_priv_protocol": v3.priv_protocol if v3 else "",
            "snmp_priv_key": v3.priv_key if v3 else "",
            "community": s.community, "district": s.district, "community_type": s.community_type,
            "name": s.name, "kind": s.kind, "role": s.role, "vendor": s.vendor, "model": s.model,
            "serial": s.serial, "mac": s.mac, "ip": s.ip, "onvif_port": str(s.onvif_port),
            "snmp_port": str(s.snmp_port), "snmp_community": s.snmp_community,
            "username": s.username, "password": s.password, "upstream": s.upstream,
            "contract": s.contract, "installed_on": s.installed_on, "contractor": s.contractor,
            "recorded_by": s.recorded_by}


def write_atomic(path: str | os.PathLike, specs: list[DeviceSpec]) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".inventory-", suffix=".csv", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            for s in specs:
                w.writerow(row(s))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
