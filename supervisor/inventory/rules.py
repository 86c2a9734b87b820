"""The one rule for changing a device's fields, whoever asks: the import (a file row), the
device edit page, and any writing API. The same input gets the same answer everywhere:
`192.168.001.010` and full-width digits are read the same way, a control character in a
name is refused everywhere, SNMPv3 needs a user and both keys everywhere.

Cells are read by the parsers of inventory/columns.py (the import's own); problems come
back keyed by field, each with a stable `code` (the page translates it) and the parser's
own message. Pure: no database, no Flask.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.core.choices import DeviceKind, Lifecycle
from supervisor.inventory.columns import SECRET_COLUMNS, SNMP_KEY_MIN, _parse_row

# The device fields a person may change after the device exists (serial, kind, community,
# contract and upstream are the inventory's: they change through an import).
EDITABLE = ("name", "role", "vendor", "model", "ip", "onvif_port", "snmp_port", "username",
            "password", "snmp_community", "snmp_version", "snmp_user", "snmp_auth_protocol",
            "snmp_auth_key", "snmp_priv_protocol", "snmp_priv_key", "lifecycle", "retired_on")
REQUIRED = ("name", "ip")


@dataclass(frozen=True)
class Problem:
    field: str
    code: str      # stable: required, ip, port, choice, control, too_long, key_short,
                   # role_required, v3_user, v3_key, invalid, date, retired_future,
                   # retired_before_install, retired_needs_date
    message: str   # the parser's words (English), with the offending value


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)  # canonical; secrets only when new
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_field(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for p in self.problems:
            out.setdefault(p.field, []).append(p)
        return out


def _code(key: str, message: str) -> str:
    if message == "a value is required":
        return "required"
    if "control character" in message:
        return "control"
    if message.startswith("longer than"):
        return "too_long"
    if "SNMPv3 key needs" in message:
        return "key_short"
    if message.startswith("a camera needs a role"):
        return "role_required"
    if key == "ip":
        return "ip"
    if key in ("onvif_port", "snmp_port"):
        return "port"
    if key in ("role", "snmp_version", "snmp_auth_protocol", "snmp_priv_protocol"):
        return "choice"
    if key in ("installed_on", "retired_on"):
        return "date"
    return "invalid"


def v3_missing(version: str | None, user: str | None, has_auth_key: bool,
               has_priv_key: bool) -> list[tuple[str, str, str]]:
    """SNMPv3 (USM authPriv) needs a user and both keys: (field, code, message) missing.
    A key counts when given now or already stored (blank keeps the stored one)."""
    if version != "3":
        return []
    out = []
    if not user:
        out.append(("snmp_user", "v3_user", "SNMP version 3 needs a user"))
    for key, present in (("snmp_auth_key", has_auth_key), ("snmp_priv_key", has_priv_key)):
        if not present:
            out.append((key, "v3_key",
                        f"SNMP version 3 needs {key} (at least {SNMP_KEY_MIN} characters)"))
    return out


def check_update(raw: Mapping[str, Any], *, kind: str,
                 stored: Mapping[str, Any], today: dt.date | None = None) -> Checked:
    """Reads the given fields of `raw` (absent fields keep their stored value; a blank
    secret keeps the stored secret) for a device of `kind` whose current values are
    `stored` (secrets as stored: only whether one is set matters).

    The retirement date and the lifecycle go together: a date (not after `today`, the
    local day, nor before the installation) retires the device; `retired` needs a date (the
    reports prorate a device by it); clearing the date needs another lifecycle."""
    cells: dict[str, Any] = {}
    for key in EDITABLE:
        if key not in raw or key == "lifecycle":
            continue
        value = raw[key]
        blank = value is None or (isinstance(value, str) and not value.strip())
        if key in SECRET_COLUMNS and blank:
            continue  # write-only fields: blank keeps what is stored
        cells[key] = None if blank else value
    if "role" in cells:
        cells["kind"] = kind  # the camera-needs-a-role rule reads the kind
    values, problems = _parse_row(cells)
    values.pop("kind", None)
    result = Checked(values={k: v for k, v in values.items() if k in EDITABLE})
    bad = set()
    for key, message in problems:
        result.problems.append(Problem(key, _code(key, message), message))
        bad.add(key)
    if "lifecycle" in raw:
        lifecycle = str(raw.get("lifecycle") or "").strip()
        if lifecycle in Lifecycle.values():
            result.values["lifecycle"] = lifecycle
        else:
            result.problems.append(Problem("lifecycle", "choice",
                                           f"unknown lifecycle {lifecycle!r}"))
            bad.add("lifecycle")

    def effective(key: str) -> Any:
        return result.values.get(key) if key in cells else stored.get(key)

    if "retired_on" not in bad:
        retired = effective("retired_on")
        installed = stored.get("installed_on")
        if retired is not None and today is not None and retired > today:
            result.problems.append(Problem("retired_on", "retired_future",
                                           f"the retirement date {retired} is in the future"))
        elif retired is not None and installed is not None and retired < installed:
            result.problems.append(Problem("retired_on", "retired_before_install",
                                           "the retirement date is before the installation date"))
        elif retired is not None:
            result.values["lifecycle"] = Lifecycle.RETIRED
        elif (result.values.get("lifecycle") or stored.get("lifecycle")) == Lifecycle.RETIRED \
                and "lifecycle" not in bad:
            result.problems.append(Problem("retired_on", "retired_needs_date",
                                           "a retired device needs its retirement date"))

    for key, code, message in v3_missing(
            effective("snmp_version"), effective("snmp_user"),
            bool(result.values.get("snmp_auth_key") or stored.get("snmp_auth_key")),
            bool(result.values.get("snmp_priv_key") or stored.get("snmp_priv_key"))):
        if key not in bad:
            result.problems.append(Problem(key, code, message))
    if kind != DeviceKind.CAMERA and "role" in result.values and result.values["role"] is None:
        result.values.pop("role")  # a switch's blank role keeps whatever it had
    return result
