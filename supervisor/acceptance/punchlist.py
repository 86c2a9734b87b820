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
