"""Inventory import and export (CSV or XLSX; English or Chinese headers).

Public API (the web import page and ``flask inventory`` call these, inside an app context)::

    plan = parse_upload(filename, data: bytes, *, create_contracts=False, contractor=None,
                        progress=None) -> ImportPlan
    plan.ok / plan.errors          # [RowError(row, column, message)], str(e) = "row N, column C: message"
    plan.warnings                  # same shape; shown but not blocking (e.g. an IP used twice)
    plan.rows                      # [PlanRow(row, action, values, changes)] -- values are
                                   #   display-safe: secrets shown as "***", never the plain text
    plan.counts                    # ImportCounts predicted against the database as it is now
    apply_plan(plan, actor, *, progress=None) -> ImportCounts(created, updated, unchanged, ...)
    export_devices(fmt="csv"|"xlsx", *, query=None, lang="en"|"zh") -> bytes

The columns and cell parsing live in ``columns.py``, file reading in ``reading.py``; export and the
blank template in ``export.py`` (re-exported here).

``progress`` is ``callable(stage: str, done: int, total: int)``; stages: ``read``,
``validate``, ``write``.

Rules (decided here; docs/inventory-columns.md lists the columns):
- The whole file is validated before anything is written; any problem rejects the whole file
  (``apply_plan`` raises ``ImportRejected`` and writes nothing). Everything is applied in one
  transaction, audit rows included.
- Rows are numbered as the spreadsheet shows them: the header is row 1.
- Devices are matched by ``serial``: new serials are created, known ones updated when a value
  differs, otherwise counted unchanged. Devices missing from the file are left alone (an
  import never deletes).
- A column absent from the file leaves that field untouched on update. A blank cell clears
  the field -- except the secrets (``password``, ``snmp_community``, ``snmp_auth_key``,
  ``snmp_priv_key``): a blank secret keeps the stored one,
  so re-importing an export (which never carries secrets) changes nothing.
- Communities are matched by name and created when new; their district and type follow the
  file (changes are audited).
- Contracts are matched by code. An unknown code is an error, because a contract is a
  financial commitment with a contractor and a start month that an inventory row cannot
  state. ``create_contracts=True`` (CLI ``--create-contracts``) creates unknown contracts,
  starting this month, judged by the latest ``default`` profile, for the contractor named in
  the row's optional ``contractor`` column or else the ``contractor`` argument.
- ``upstream`` names another row's serial or a device already stored; cycles are refused.
- ``recorded_by`` (optional) names the NVR that records a camera, the same way (a row or a stored device).
- ``snmp_version`` is 1/2c/3/auto (blank = 2c); version 3 needs ``snmp_user`` and both keys
  (each at least 8 characters), from the row or already stored; protocols are those the
  probes accept (columns.SNMP_AUTH_PROTOCOLS / SNMP_PRIV_PROTOCOLS).
- Exports never contain ``password``, ``snmp_community`` or the SNMPv3 keys; ``query`` (a ``select(Device)``,
  e.g. a contractor's scoped query) limits the rows.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, delete, insert, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from supervisor.core import audit, localtime
from supervisor.core.choices import Lifecycle
from supervisor.core.extensions import db
from supervisor.inventory.export import export_devices, export_rows, template  # noqa: F401  (API)
from supervisor.inventory.columns import (  # noqa: F401  (API: columns and cell parsers live there)
    COLUMNS, DEVICE_FIELDS, EXPORT_COLUMNS, IGNORED, IGNORED_COLUMNS, SECRET_COLUMNS, SPEC,
    ColumnSpec, RowError, _cell_text, _parse_row, match_header, parse_date, parse_ip, parse_mac,
    parse_port, spelling_key)
from supervisor.inventory.reading import Table, read_table  # noqa: F401  (API)
from supervisor.core.models import AuditEntry
from supervisor.inventory.models import (
    Community,
    Contract,
    Contractor,
    Device,
    contract_communities,
)
from supervisor.core.clock import utcnow
from supervisor.core.secretbox import decrypt

__all__ = ["parse_upload", "apply_plan", "export_devices", "export_rows", "template",
           "ImportPlan", "PlanRow", "ImportCounts", "ImportRejected", "RowError", "COLUMNS",
           "EXPORT_COLUMNS", "IGNORED_COLUMNS", "SPEC", "ColumnSpec", "match_header",
           "parse_date", "parse_ip", "parse_mac", "parse_port", "read_table", "iter_errors"]

Progress = Callable[[str, int, int], None]
MAX_ROWS = 200_000
MAX_ERRORS = 1000  # beyond this the list ends with a "... more" line


# ---------------------------------------------------------------- results

class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    communities_created: int = 0
    communities_updated: int = 0
    contracts_created: int = 0

    def __str__(self) -> str:
        return (f"created {self.created}, updated {self.updated}, unchanged {self.unchanged} "
                f"(communities: {self.communities_created} created, "
                f"{self.communities_updated} updated; contracts: {self.contracts_created} created)")


@dataclass
class PlanRow:
    row: int
    values: dict[str, Any]                 # canonical column -> parsed value; secrets masked
    action: str = ""                        # create / update / unchanged (after the DB check)
    changes: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class ImportPlan:
    filename: str
    encoding: str = ""
    sheet: str | None = None                            # the worksheet read (XLSX)
    header_language: str = ""
    columns: list[str] = field(default_factory=list)   # canonical keys present in the file
    headers: dict[str, str] = field(default_factory=dict)  # key -> header as written
    rows: list[PlanRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # shown, but don't reject the file
    counts: ImportCounts = field(default_factory=ImportCounts)
    create_contracts: bool = False
    contractor: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_lines(self, limit: int = MAX_ERRORS) -> list[str]:
        lines = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"... and {len(self.errors) - limit} more problems")
        return lines


class ImportRejected(Exception):
    """The file (or the database since the preview) has problems: nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors[:20]))


# ---------------------------------------------------------------- database context

@dataclass
class _Existing:
    id: int
    values: dict[str, Any]        # device fields in import terms (community name, serials...)
    cipher: dict[str, str | None]  # secrets as stored (decrypted only when compared)
    lifecycle: str
    accepted_on: Any = None


@dataclass
class _Context:
    devices: dict[str, _Existing]
    upstream_of: dict[str, str | None]      # serial -> upstream serial (stored)
    communities: dict[str, tuple[int, str, str]]  # name -> (id, district, type)
    contracts: dict[str, tuple[int, int]]   # code -> (id, contractor id)
    contractors: dict[str, int]
    contractor_names: dict[int, str]
    links: set[tuple[int, int]]             # (contract id, community id)


def _load_context() -> _Context:
    s = db.session
    communities = {name: (cid, district, ctype) for cid, name, district, ctype in s.execute(
        select(Community.id, Community.name, Community.district, Community.type))}
    community_names = {v[0]: k for k, v in communities.items()}
    contractors = dict(s.execute(select(Contractor.name, Contractor.id)).all())
    contracts = {code: (cid, ctr) for cid, code, ctr in s.execute(
        select(Contract.id, Contract.code, Contract.contractor_id))}
    contract_codes = {v[0]: k for k, v in contracts.items()}
    links = {(a, b) for a, b in s.execute(select(contract_communities.c.contract_id,
                                                 contract_communities.c.community_id))}
    cols = [Device.id, Device.serial, Device.upstream_id, Device.recorded_by_id, Device.community_id,
            Device.contract_id, Device.lifecycle, Device.accepted_on,
            type_coerce(Device.password, String).label("pw"),
            type_coerce(Device.snmp_community, String).label("snmp"),
            type_coerce(Device.snmp_auth_key, String).label("snmp_auth"),
            type_coerce(Device.snmp_priv_key, String).label("snmp_priv")]
    cols += [getattr(Device, f) for f in DEVICE_FIELDS]
    rows = s.execute(select(*cols)).all()
    serial_of = {r.id: r.serial for r in rows}
    devices: dict[str, _Existing] = {}
    upstream_of: dict[str, str | None] = {}
    for r in rows:
        values = {f: getattr(r, f) for f in DEVICE_FIELDS}
        if values["mac"]:
            try:
                values["mac"] = parse_mac(values["mac"])
            except ValueError:
                pass
        up = serial_of.get(r.upstream_id) if r.upstream_id else None
        values.update(community=community_names.get(r.community_id), upstream=up,
                      recorded_by=serial_of.get(r.recorded_by_id) if r.recorded_by_id else None,
                      contract=contract_codes.get(r.contract_id) if r.contract_id else None)
        devices[r.serial] = _Existing(r.id, values, {"password": r.pw, "snmp_community": r.snmp,
                                                     "snmp_auth_key": r.snmp_auth,
                                                     "snmp_priv_key": r.snmp_priv},
                                      r.lifecycle, r.accepted_on)
        upstream_of[r.serial] = up
    return _Context(devices, upstream_of, communities, contracts, contractors,
                    {v: k for k, v in contractors.items()}, links)


# ---------------------------------------------------------------- validation

def _validate_file(plan: ImportPlan, table: list[tuple[int, list[Any]]],
                   progress: Progress | None) -> None:
    """Header and per-row checks that need no database."""
    body = [(n, row) for n, row in table if any(_cell_text(c) for c in row)]
    if not body:
        plan.errors.append(RowError(1, "-", "the file is empty: expected a header row"))
        return
    # Chinese templates often put a title row (e.g. "某区设备清单") or a two-row header (a
    # group cell "网络信息" over "IP地址 | MAC地址") above the real header: the header is the row,
    # among the first ten, with the most known column names (at least 3; the first on a tie).
    start, best = 0, 2
    for j, (_, cells) in enumerate(body[:10]):
        known = sum(1 for c in cells if (t := _cell_text(c)) and match_header(t))
        if known > best:
            start, best = j, known
    body = body[start:]
    header_no, header = body[0]
    positions: dict[str, int] = {}
    langs = set()
    for i, cell in enumerate(header):
        text = _cell_text(cell)
        if text is None:
            continue
        text = " ".join(text.split())  # a header cell with line breaks: one line in messages
        hit = match_header(text)
        if hit is None:
            # Real sheets carry extra columns (立杆编号, 维保电话...): refusing them would make
            # people delete columns before every import. Ignored, and said so, since a
            # misspelt known column would otherwise go unnoticed.
            plan.warnings.append(RowError(header_no, text, "unknown column, ignored"))
            continue
        key, lang = hit
        if key in IGNORED:
            langs.add(lang)
            continue
        if key in positions:
            plan.errors.append(RowError(header_no, text, f"column {key} appears twice"))
            continue
        positions[key] = i
        plan.headers[key] = text
        langs.add(lang)
    plan.header_language = "mixed" if len(langs) > 1 else (langs.pop() if langs else "")
    for spec in COLUMNS:
        if spec.required and spec.key not in positions:
            plan.errors.append(RowError(header_no, f"{spec.key} ({spec.zh})",
                                        "missing required column"))
    if plan.errors:
        return
    plan.columns = [c.key for c in COLUMNS if c.key in positions]  # set: the header is good
    # A row with nothing in the inventory's columns is not a device: a pre-numbered 序号 with
    # no data, a remark under the table, a formatted-but-empty row.
    data_at = list(positions.values())
    rows = [(n, cells) for n, cells in body[1:]
            if any(p < len(cells) and _cell_text(cells[p]) for p in data_at)]
    if len(rows) > MAX_ROWS:
        plan.errors.append(RowError(header_no, "-", f"more than {MAX_ROWS} rows"))
        return
    seen_serial: dict[str, int] = {}
    seen_address: dict[tuple[str, int | None], int] = {}
    communities: dict[str, tuple[int, str | None, str | None]] = {}
    spelled: dict[str, tuple[str, int]] = {}
    contract_owner: dict[str, tuple[int, str]] = {}
    for i, (n, cells) in enumerate(rows):
        raw = {k: (cells[p] if p < len(cells) else None) for k, p in positions.items()}
        values, problems = _parse_row(raw)
        for key, msg in problems:
            plan.errors.append(RowError(n, plan.headers.get(key, key), msg))
        serial = values.get("serial")
        if serial:
            if serial in seen_serial:
                plan.errors.append(RowError(n, plan.headers["serial"],
                                            f"duplicate serial {serial!r} (also row "
                                            f"{seen_serial[serial]})"))
            else:
                seen_serial[serial] = n
            if values.get("upstream") == serial:
                plan.errors.append(RowError(n, plan.headers["upstream"],
                                            "a device cannot be its own upstream"))
        if values.get("ip"):  # two devices on one address and port is usually a typo
            addr = (values["ip"], values.get("onvif_port"))
            if addr in seen_address:
                plan.warnings.append(RowError(n, plan.headers["ip"],
                                              f"{values['ip']} is also on row {seen_address[addr]}"))
            else:
                seen_address[addr] = n
        cname = values.get("community")
        if cname and cname not in communities:
            other = spelled.setdefault(spelling_key(cname), (cname, n))
            if other[0] != cname:
                plan.warnings.append(RowError(n, plan.headers["community"], (
                    f"community {cname!r} differs from {other[0]!r} (row {other[1]}) only in "
                    f"full-width/half-width forms or spaces: they are two communities")))
        if cname:
            d, t = values.get("district"), values.get("community_type")
            first = communities.setdefault(cname, (n, d, t))
            if d and first[1] and d != first[1]:
                plan.errors.append(RowError(n, plan.headers["district"],
                                            f"community {cname!r} is in district {first[1]!r} "
                                            f"on row {first[0]}"))
            if t and first[2] and t != first[2]:
                plan.errors.append(RowError(n, plan.headers["community_type"],
                                            f"community {cname!r} has type {first[2]!r} "
                                            f"on row {first[0]}"))
        code, ctr = values.get("contract"), values.get("contractor")
        if code and ctr:
            first_c = contract_owner.setdefault(code, (n, ctr))
            if first_c[1] != ctr:
                plan.errors.append(RowError(n, plan.headers["contractor"],
                                            f"contract {code!r} has contractor {first_c[1]!r} "
                                            f"on row {first_c[0]}"))
        secrets = {k: values.pop(k) for k in SECRET_COLUMNS if values.get(k)}
        for k in SECRET_COLUMNS:
            if k in values or k in secrets:
                values[k] = audit.MASK if k in secrets else None
        plan.rows.append(PlanRow(n, values, secrets=secrets))
        if progress and i % 2000 == 0:
            progress("validate", i, len(rows))


def _check_against(plan: ImportPlan, ctx: _Context) -> list[RowError]:
    """References, cycles and the per-row action; fills row.action/changes and plan.counts."""
    errors: list[RowError] = []
    h = plan.headers
    file_serials = {r.values["serial"]: r for r in plan.rows if r.values.get("serial")}
    counts = ImportCounts()
    new_contracts: set[str] = set()
    bad_cells = {(e.row, e.column) for e in plan.errors}  # already reported: not twice
    today = localtime.to_local(utcnow()).date()
    for r in plan.rows:
        v = r.values
        retired = v.get("retired_on")
        if retired and retired > today and (r.row, h.get("retired_on")) not in bad_cells:
            errors.append(RowError(r.row, h["retired_on"],
                                   f"the retirement date {retired.isoformat()} is in the future"))
        code = v.get("contract")
        if code:
            if code in ctx.contracts:
                ctr = v.get("contractor")
                owner = ctx.contractor_names.get(ctx.contracts[code][1])
                if ctr and ctr != owner:
                    errors.append(RowError(r.row, h["contractor"],
                                           f"contract {code!r} belongs to {owner!r}"))
            elif not plan.create_contracts:
                errors.append(RowError(r.row, h["contract"],
                                       f"unknown contract {code!r} (create it first, or import "
                                       f"with --create-contracts)"))
            elif not (v.get("contractor") or plan.contractor):
                errors.append(RowError(r.row, h.get("contract", "contract"),
                                       f"new contract {code!r} needs a contractor (a contractor "
                                       f"column, or --contractor NAME)"))
            else:
                new_contracts.add(code)
        up = v.get("upstream")
        if up and up not in file_serials and up not in ctx.devices:
            errors.append(RowError(r.row, h["upstream"], f"unknown upstream device {up!r}"))
        rec = v.get("recorded_by")
        if rec and rec == v.get("serial"):
            errors.append(RowError(r.row, h["recorded_by"], "a device cannot record itself"))
        elif rec and rec not in file_serials and rec not in ctx.devices:
            errors.append(RowError(r.row, h["recorded_by"], f"unknown recording device {rec!r}"))
        errors.extend(_v3_problems(plan, r, ctx.devices.get(v.get("serial") or ""), bad_cells))
    counts.contracts_created = len(new_contracts)
    stored_spelling = {spelling_key(name): name for name in ctx.communities}
    warned: set[str] = set()
    for r in plan.rows:
        cname = r.values.get("community")
        if cname and cname not in ctx.communities and cname not in warned:
            twin = stored_spelling.get(spelling_key(cname))
            if twin:
                warned.add(cname)
                plan.warnings.append(RowError(r.row, h["community"], (
                    f"new community {cname!r}: the stored community {twin!r} differs only in "
                    f"full-width/half-width forms or spaces")))
    if "ip" in plan.columns:
        stored_at = {}
        for serial, ex in ctx.devices.items():
            if serial not in file_serials:
                stored_at.setdefault((ex.values["ip"], ex.values["onvif_port"]), serial)
        for r in plan.rows:
            other = stored_at.get((r.values.get("ip"), r.values.get("onvif_port")))
            if other:
                plan.warnings.append(RowError(r.row, h["ip"], f"{r.values['ip']} is also the "
                                                              f"address of stored device {other}"))
    if new_contracts:
        from supervisor.profiles.loader import ProfileError, load_profile

        try:  # a new contract is judged by the latest default profile: it must load
            load_profile("default")
        except ProfileError as exc:
            first = next(r for r in plan.rows if r.values.get("contract") in new_contracts)
            errors.append(RowError(first.row, h["contract"],
                                   f"cannot create contracts: {exc}"))
    plan.warnings.extend(_crossing_link_warnings(plan, ctx, file_serials))
    # Upstream cycles over the graph the database would hold after the import.
    graph = dict(ctx.upstream_of)
    if "upstream" in plan.columns:
        graph.update({s: r.values.get("upstream") for s, r in file_serials.items()})
    else:
        for s in file_serials:
            graph.setdefault(s, None)
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known acyclic
    in_cycle: dict[str, list[str]] = {}
    for start in file_serials:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node) is None and node in graph:
            state[node] = 1
            path.append(node)
            node = graph.get(node)
        if node is not None and state.get(node) == 1:  # closed a loop on this walk
            loop = path[path.index(node):]
            for s in loop:
                in_cycle[s] = loop + [node]
        for s in path:
            state[s] = 2
    for s, loop in in_cycle.items():
        if s in file_serials and "upstream" in h:
            errors.append(RowError(file_serials[s].row, h["upstream"],
                                   "upstream cycle: " + " → ".join(loop)))
    errors.sort(key=lambda e: e.row)
    # What each row would do.
    seen_comm: set[str] = set()
    for r in plan.rows:
        v = r.values
        cname = v.get("community")
        if cname and cname not in seen_comm:
            seen_comm.add(cname)
            known = ctx.communities.get(cname)
            if known is None:
                counts.communities_created += 1
            elif (v.get("district"), v.get("community_type")) != known[1:]:
                counts.communities_updated += 1
        if not v.get("serial"):
            continue  # already an error
        ex = ctx.devices.get(v["serial"])
        if ex is None:
            r.action, r.changes = "create", []
            counts.created += 1
            continue
        changes = [k for k in DEVICE_FIELDS + ("community", "upstream", "recorded_by", "contract")
                   if k in plan.columns and v.get(k) != ex.values.get(k)]
        for k, plain in r.secrets.items():
            stored = ex.cipher.get(k)
            try:
                same = stored is not None and decrypt(stored) == plain
            except RuntimeError:  # unreadable with this key: the file's value replaces it
                same = False
            if not same:
                changes.append(k)
        r.changes = changes
        r.action = "update" if changes else "unchanged"
        if changes:
            counts.updated += 1
        else:
            counts.unchanged += 1
    plan.counts = counts
    return errors


CROSSING_MARK = "crosses contracts"


def _crossing_link_warnings(plan: ImportPlan, ctx: _Context,
                            file_serials: dict[str, PlanRow]) -> list[RowError]:
    """A link (upstream) whose two ends will be under different contracts: allowed (a camera
    may hang on another contractor's switch) but worth a look, since each contractor then
    sees the other end only as "a device outside your contract"."""
    if "upstream" not in plan.columns and "contract" not in plan.columns:
        return []

    def contract_of(serial: str) -> str | None:
        row = file_serials.get(serial)
        if row is not None and "contract" in plan.columns:
            return row.values.get("contract")
        ex = ctx.devices.get(serial)
        return ex.values.get("contract") if ex else None

    def contractor_of(serial: str, code: str | None) -> str | None:
        if code in ctx.contracts:
            return ctx.contractor_names.get(ctx.contracts[code][1])
        row = file_serials.get(serial)
        return (row.values.get("contractor") if row else None) or plan.contractor

    out = []
    column = plan.headers.get("upstream") or plan.headers.get("contract") or "upstream"
    for serial, r in file_serials.items():
        up = r.values.get("upstream") if "upstream" in plan.columns else ctx.upstream_of.get(serial)
        if not up or up == serial or (up not in file_serials and up not in ctx.devices):
            continue
        mine, theirs = contract_of(serial), contract_of(up)
        if mine == theirs:
            continue
        other = contractor_of(up, theirs) != contractor_of(serial, mine)
        out.append(RowError(r.row, column, (
            f"the link to upstream {up} {CROSSING_MARK} ({mine or 'no contract'} → "
            f"{theirs or 'no contract'}"
            + (", another contractor): each side sees the other only as a device outside "
               "its contract" if other else ")"))))
    return out


def _v3_problems(plan: ImportPlan, r: PlanRow, ex: _Existing | None,
                 bad_cells: set[tuple[int, str]]) -> list[RowError]:
    """SNMPv3 (authPriv) needs a user and both keys, from the row or already stored (a blank
    key keeps the stored one, so a re-imported export stays valid)."""
    def effective(key: str) -> Any:
        if key in plan.columns:
            return r.values.get(key)
        return ex.values.get(key) if ex else None

    from supervisor.inventory.rules import v3_missing  # the one rule, shared with the pages

    def has(key: str) -> bool:
        return key in r.secrets or bool(ex and ex.cipher.get(key))

    out = []
    for key, _code, message in v3_missing(effective("snmp_version"), effective("snmp_user"),
                                          has("snmp_auth_key"), has("snmp_priv_key")):
        column = plan.headers.get(key, key)
        if (r.row, column) not in bad_cells:
            out.append(RowError(r.row, column, message))
    return out


def parse_upload(filename: str, data: bytes, *, create_contracts: bool = False,
                 contractor: str | None = None, progress: Progress | None = None) -> ImportPlan:
    """Reads and validates a whole file against the database; writes nothing."""
    plan = ImportPlan(filename=filename, create_contracts=create_contracts,
                      contractor=(contractor or "").strip() or None)
    try:
        table, plan.encoding, plan.sheet = read_table(filename, data)
    except (ValueError, UnicodeDecodeError) as exc:
        plan.errors.append(RowError(1, "-", str(exc)))
        return plan
    if progress:
        progress("read", len(table), len(table))
    _validate_file(plan, table, progress)
    if not plan.columns:  # header problems: the rows can't be read
        return plan
    if not plan.rows and not plan.errors:
        plan.errors.append(RowError(1, "-", "the file has a header but no device rows"))
        return plan
    # References and cycles are checked even when some cells are bad, so one run lists
    # every problem; sorted by row, cell problems first within a row.
    plan.errors.extend(_check_against(plan, _load_context()))
    plan.errors.sort(key=lambda e: e.row)
    plan.warnings.sort(key=lambda e: e.row)
    if progress:
        progress("validate", len(plan.rows), len(plan.rows))
    return plan


# ---------------------------------------------------------------- writing

def apply_plan(plan: ImportPlan, actor: Any, *, progress: Progress | None = None) -> ImportCounts:
    """Writes a valid plan in one transaction (re-checked against the database first)."""
    if plan.errors:
        raise ImportRejected(plan.errors)
    s = db.session
    try:
        ctx = _load_context()
        # Warnings about the database are made again by the re-check below.
        in_file = [w for w in plan.warnings
                   if "stored " not in w.message and CROSSING_MARK not in w.message]
        plan.warnings = in_file
        errors = _check_against(plan, ctx)  # the database may have moved since the preview
        if errors:
            plan.errors = errors
            raise ImportRejected(errors)
        counts = _write(plan, ctx, actor, progress)
        s.commit()
    except IntegrityError as exc:
        # Another writer (a second import, the web form) got in between our read and write:
        # a unique serial/name/code now collides. Nothing was written; running again re-plans.
        s.rollback()
        what = str(exc.orig).splitlines()[0][:200] if exc.orig else type(exc).__name__
        raise ImportRejected([RowError(1, "-", f"the database changed during the import "
                                               f"({what}); nothing was written, import again")])
    except BaseException:
        s.rollback()
        raise
    return counts


def _write(plan: ImportPlan, ctx: _Context, actor: Any, progress: Progress | None) -> ImportCounts:
    s = db.session
    now = utcnow()
    user_id, actor_name = audit._actor_fields(actor)
    audits: list[dict[str, Any]] = []

    def log(action: str, entity: str, key: str, before: Any, after: Any) -> None:
        b, a = audit.mask(before, after)
        audits.append(dict(at=now, user_id=user_id, actor=actor_name, action=action,
                           entity=entity, entity_key=key, before=b, after=a, note=None))

    counts = plan.counts
    total = len(plan.rows)
    # Communities.
    community_id: dict[str, int] = {k: v[0] for k, v in ctx.communities.items()}
    done: set[str] = set()
    for r in plan.rows:
        name = r.values.get("community")
        if not name or name in done:
            continue
        done.add(name)
        d, t = r.values.get("district"), r.values.get("community_type")
        known = ctx.communities.get(name)
        if known is None:
            c = Community(name=name, district=d, type=t)
            s.add(c)
            s.flush()
            community_id[name] = c.id
            log("create", "community", name, None, {"district": d, "type": t})
        elif (d, t) != known[1:]:
            s.execute(update(Community).where(Community.id == known[0]).values(district=d, type=t))
            log("update", "community", name, {"district": known[1], "type": known[2]},
                {"district": d, "type": t})
    # Contracts (only with create_contracts; unknown codes were errors otherwise).
    contract_id: dict[str, int] = {k: v[0] for k, v in ctx.contracts.items()}
    contractor_id = dict(ctx.contractors)
    profile_name = profile_version = None
    for r in plan.rows:
        code = r.values.get("contract")
        if not code or code in contract_id:
            continue
        if profile_name is None:
            from supervisor.profiles.loader import load_profile, record_use

            prof = load_profile("default")
            profile_name, profile_version = prof.name, prof.version
            record_use(prof, db.session, actor)
        ctr_name = r.values.get("contractor") or plan.contractor
        if ctr_name not in contractor_id:
            ctr = Contractor(name=ctr_name)
            s.add(ctr)
            s.flush()
            contractor_id[ctr_name] = ctr.id
            log("create", "contractor", ctr_name, None, {"name": ctr_name})
        start = now.date().replace(day=1)  # the import's clock, UTC
        con = Contract(code=code, contractor_id=contractor_id[ctr_name], start_month=start,
                       term_months=60, profile_name=profile_name, profile_version=profile_version)
        s.add(con)
        s.flush()
        contract_id[code] = con.id
        log("create", "contract", code, None,
            {"contractor": ctr_name, "start_month": start, "term_months": 60,
             "profile": f"{profile_name}@{profile_version}"})
    # Devices: bulk insert the new ones, bulk update the changed ones.
    inserts: list[dict[str, Any]] = []
    updates: dict[frozenset[str], list[dict[str, Any]]] = {}
    for r in plan.rows:
        v = r.values
        if r.action == "create":
            row = {f: v.get(f) for f in DEVICE_FIELDS}
            row.update(serial=v["serial"], community_id=community_id[v["community"]],
                       contract_id=contract_id.get(v.get("contract")) if v.get("contract") else None,
                       **{k: r.secrets.get(k) for k in SECRET_COLUMNS},
                       snmp_version=v.get("snmp_version") or "2c",
                       lifecycle=(Lifecycle.RETIRED if v.get("retired_on") else
                                  Lifecycle.INSTALLED if v.get("installed_on") else
                                  Lifecycle.PLANNED),
                       upstream_id=None, recorded_by_id=None, accepted_on=None, created_at=now,
                       updated_at=now)
            inserts.append(row)
            after = {k: v.get(k) for k in plan.columns if k not in ("district", "community_type")}
            after.update({k: r.secrets[k] for k in r.secrets})
            log("create", "device", v["serial"], None, after)
        elif r.action == "update":
            ex = ctx.devices[v["serial"]]
            change: dict[str, Any] = {"id": ex.id}
            before: dict[str, Any] = {}
            after = {}
            for k in r.changes:
                if k in ("upstream", "recorded_by"):
                    continue  # set below, once every id is known
                if k in SECRET_COLUMNS:
                    change[k] = r.secrets[k]
                    before[k], after[k] = "(stored)" if ex.cipher.get(k) else None, r.secrets[k]
                    continue
                before[k], after[k] = ex.values.get(k), v.get(k)
                if k == "community":
                    change["community_id"] = community_id[v[k]]
                elif k == "contract":
                    change["contract_id"] = contract_id[v[k]] if v[k] else None
                else:
                    change[k] = v.get(k)
            if "installed_on" in r.changes and v.get("installed_on") \
                    and ex.lifecycle == Lifecycle.PLANNED:
                change["lifecycle"] = Lifecycle.INSTALLED
                before["lifecycle"], after["lifecycle"] = ex.lifecycle, Lifecycle.INSTALLED
            if "retired_on" in r.changes:
                # A retirement date retires the device (sweeps stop; reports prorate it);
                # clearing it brings the device back to where it was before.
                back = (Lifecycle.ACCEPTED if ex.accepted_on else Lifecycle.INSTALLED
                        if (v.get("installed_on") or ex.values.get("installed_on"))
                        else Lifecycle.PLANNED)
                new = Lifecycle.RETIRED if v.get("retired_on") else (
                    back if ex.lifecycle == Lifecycle.RETIRED else ex.lifecycle)
                if new != ex.lifecycle:
                    change["lifecycle"] = new
                    before["lifecycle"], after["lifecycle"] = ex.lifecycle, new
            for link in ("upstream", "recorded_by"):
                if link in r.changes:
                    before[link], after[link] = ex.values.get(link), v.get(link)
            change["updated_at"] = now
            updates.setdefault(frozenset(change), []).append(change)
            log("update", "device", v["serial"], before, after)
    # Progress counts rows written; unchanged rows are done from the start.
    written = total - len(inserts) - sum(len(b) for b in updates.values())
    if progress:
        progress("write", written, total)
    for chunk in _chunks(inserts, 2000):
        s.execute(insert(Device.__table__), chunk)
        written += len(chunk)
        if progress:
            progress("write", min(written, total - 1), total)
    for batch in updates.values():
        for chunk in _chunks(batch, 2000):
            s.execute(update(Device), chunk)
            written += len(chunk)
            if progress:
                progress("write", min(written, total - 1), total)
    # Upstream links and contract<->community links need every id.
    needs_ids = ("upstream" in plan.columns or "recorded_by" in plan.columns
                 or "contract" in plan.columns)
    id_of: dict[str, int] = {}
    if needs_ids:
        id_of = dict(s.execute(select(Device.serial, Device.id)).all())
    # Device-to-device links (network path, recording NVR), set once every id is known.
    for link in ("upstream", "recorded_by"):
        if link not in plan.columns:
            continue
        rows = []
        for r in plan.rows:
            other = r.values.get(link)
            if r.action == "create" and other or link in r.changes:
                rows.append({"id": id_of[r.values["serial"]],
                             f"{link}_id": id_of[other] if other else None})
        for chunk in _chunks(rows, 5000):
            s.execute(update(Device), chunk)
    if "contract" in plan.columns:
        pairs = set()
        for r in plan.rows:
            code, cname = r.values.get("contract"), r.values.get("community")
            if code and cname:
                pairs.add((contract_id[code], community_id[cname]))
        new_links = [{"contract_id": a, "community_id": b} for a, b in pairs - ctx.links]
        if new_links:
            s.execute(insert(contract_communities), new_links)
    # A contract no longer holding any device in a community it had devices in loses its
    # link to it (its contractor no longer sees that community). Links with no device ever
    # (a contract covering a community before installation) are left alone.
    vacated = set()
    for r in plan.rows:
        if r.action == "update" and ({"community", "contract"} & set(r.changes)):
            ex = ctx.devices[r.values["serial"]]
            code, cname = ex.values.get("contract"), ex.values.get("community")
            if code in ctx.contracts and cname in ctx.communities:
                vacated.add((ctx.contracts[code][0], ctx.communities[cname][0]))
    for contract, community in sorted(vacated & ctx.links):
        still = s.scalar(select(Device.id).where(Device.contract_id == contract,
                                                 Device.community_id == community).limit(1))
        if still is None:
            s.execute(delete(contract_communities).where(
                contract_communities.c.contract_id == contract,
                contract_communities.c.community_id == community))
            code = next(k for k, v in ctx.contracts.items() if v[0] == contract)
            name = next(k for k, v in ctx.communities.items() if v[0] == community)
            log("unlink", "contract", code, {"community": name}, None)
    log("import", "inventory", plan.filename[:200], None,
        {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged,
         "rows": total, "encoding": plan.encoding, "sheet": plan.sheet})
    for chunk in _chunks(audits, 5000):
        s.execute(insert(AuditEntry.__table__), chunk)
    if progress:
        progress("write", total, total)
    return counts


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def iter_errors(errors: Iterable[RowError]) -> Iterator[str]:
    for e in errors:
        yield str(e)
