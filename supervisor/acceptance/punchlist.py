"""The punch list of a run: one line per failed check of a failed device, as CSV.

Tickets are built elsewhere; until they can be opened from here, this file is the hand-off
(one row is one work item for the contractor: device, check, measured, required, clause).
"""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.acceptance.models import AcceptanceResult, AcceptanceRun
from supervisor.inventory.models import Contract, Device

COLUMNS = ("run", "community_id", "contract", "serial", "name", "kind", "role", "ip", "check",
           "measured", "required", "clause")


def punch_items(session: Session, run: AcceptanceRun) -> list[dict[str, object]]:
    rows = session.execute(
        sa.select(AcceptanceResult, Device, Contract.code)
        .join(Device, Device.id == AcceptanceResult.device_id)
        .outerjoin(Contract, Contract.id == Device.contract_id)
        .where(AcceptanceResult.run_id == run.id, AcceptanceResult.verdict == "fail")
        .order_by(AcceptanceResult.id)).all()
    out = []
    for res, dev, code in rows:
        for c in res.checks:
            if c["verdict"] != "fail":
                continue
            out.append({"run": run.id, "community_id": run.community_id, "contract": code or "",
                        "serial": dev.serial, "name": dev.name, "kind": dev.kind,
                        "role": dev.role or "", "ip": dev.ip, "check": c["check"],
                        "measured": c["measured"], "required": c["required"],
                        "clause": c["clause"]})
    return out


def punch_list_csv(session: Session, run: AcceptanceRun) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")           # Excel opens UTF-8 Chinese correctly with a BOM
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(punch_items(session, run))
    return buf.getvalue()


class PunchListError(Exception):
    pass


def tickets_available() -> bool:
    try:
        import supervisor.tickets.service  # noqa: F401
    except ImportError:
        return False
    return True


def open_tickets(session: Session, run: AcceptanceRun, now, actor) -> dict[str, list]:
    """The punch list as tickets in one step: one ticket per failed device (family
    `acceptance`, the failed checks as its evidence), through the tickets service. A device
    that already has an open acceptance ticket is skipped with the reason. Commits.

    Needs supervisor.tickets (another package); without it PunchListError says so."""
    try:
        from supervisor.tickets.service import TicketError, open_ticket
    except ImportError:
        raise PunchListError("tickets are not available in this installation; "
                             "download the punch list as CSV") from None
    by_serial: dict[str, list[dict[str, object]]] = {}
    for item in punch_items(session, run):
        by_serial.setdefault(str(item["serial"]), []).append(item)
    opened, skipped = [], []
    for serial, items in by_serial.items():
        dev = session.scalar(sa.select(Device).where(Device.serial == serial))
        checks = [{k: i[k] for k in ("check", "measured", "required", "clause")} for i in items]
        try:
            t = open_ticket(session, dev, "acceptance", now, source="acceptance", actor=actor,
                            evidence={"acceptance_run": run.id, "checks": checks},
                            title=f"{dev.name} · 验收整改 ({', '.join(c['check'] for c in checks)})")
            opened.append(t.id)
        except TicketError as exc:
            skipped.append((serial, exc.code))
    session.commit()
    return {"opened": opened, "skipped": skipped}
