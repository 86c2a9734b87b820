"""Per-contractor SLA summary for a month, from clocks recomputed from events.

``month_summary(session, lo, hi, now, contract_ids=None) -> list[ContractorMonth]``: tickets
opened in [lo, hi) (naive UTC bounds of the local month). Closed-as-invalid tickets are left
out; tickets closed as recovered without intervention are counted apart and left out of the
response/repair/MTTR figures (nobody repaired them). Figures per contractor:

* responded: tickets whose response target was met (stopped within it) / tickets counted;
* repaired: tickets repaired (verified) within the repair target / tickets counted;
* MTTR: mean wall-clock hours from opening to the verified repair (schedule hours beside it);
* breaches: breach events (any cycle), each tagged with its policy version.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from supervisor.inventory.models import Contract, Contractor
from supervisor.tickets import service
from supervisor.tickets.models import Ticket


@dataclass
class ContractorMonth:
    contractor_id: Optional[int]
    contractor: str
    tickets: int = 0
    counted: int = 0
    responded_in_time: int = 0
    repaired_in_time: int = 0
    repaired: int = 0
    open_now: int = 0
    recovered: int = 0
    invalid: int = 0
    breaches: int = 0
    repair_wall_s: list[float] = field(default_factory=list)
    repair_schedule_s: list[float] = field(default_factory=list)

    @property
    def responded_rate(self) -> Optional[float]:
        return self.responded_in_time / self.counted if self.counted else None

    @property
    def repaired_rate(self) -> Optional[float]:
        return self.repaired_in_time / self.counted if self.counted else None

    @property
    def mttr_h(self) -> Optional[float]:
        return sum(self.repair_wall_s) / len(self.repair_wall_s) / 3600 if self.repair_wall_s else None

    @property
    def mttr_schedule_h(self) -> Optional[float]:
        return (sum(self.repair_schedule_s) / len(self.repair_schedule_s) / 3600
                if self.repair_schedule_s else None)


def month_summary(session: Session, lo: dt.datetime, hi: dt.datetime, now: dt.datetime,
                  contract_ids: Optional[Iterable[int]] = None) -> list[ContractorMonth]:
    q = (select(Ticket, Contractor.id, Contractor.name)
         .outerjoin(Contract, Contract.id == Ticket.contract_id)
         .outerjoin(Contractor, Contractor.id == Contract.contractor_id)
         .where(Ticket.opened_at >= lo, Ticket.opened_at < hi).order_by(Ticket.id))
    if contract_ids is not None:
        q = q.where(Ticket.contract_id.in_(list(contract_ids)))
    out: dict[Optional[int], ContractorMonth] = {}
    for ticket, cid, cname in session.execute(q):
        row = out.setdefault(cid, ContractorMonth(cid, cname or "—"))
        row.tickets += 1
        tc = service.recompute(session, ticket, now)
        row.breaches += len(tc.breaches)
        if tc.outcome == "invalid":
            row.invalid += 1
            continue
        if tc.outcome == "recovered":
            row.recovered += 1
            continue
        row.counted += 1
        if tc.closed_at is None:
            row.open_now += 1
        if all(c.response.stopped_at is not None and not c.response.breached for c in tc.cycles):
            row.responded_in_time += 1
        if tc.outcome == "repaired":
            row.repaired += 1
            cur = tc.current
            if not any(c.repair.breached for c in tc.cycles):
                row.repaired_in_time += 1
            if cur.repair.stopped_at is not None:
                row.repair_wall_s.append((cur.repair.stopped_at - ticket.opened_at).total_seconds())
                row.repair_schedule_s.append(sum(c.repair.used_s for c in tc.cycles))
    return sorted(out.values(), key=lambda r: r.contractor)
