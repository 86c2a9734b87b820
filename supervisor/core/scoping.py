"""Tenant scoping, applied where queries are built.

Every page, search, export and API answer about devices, communities or contracts starts
from one of these selects, so a contractor's user can never reach another contractor's
objects by changing a filter or typing an id into a URL: the row is simply not in the
query (and detail pages answer 404). Templates never filter.

- police: everything;
- contractor: its contracts, the devices under them, and the communities those contracts
  cover (linked in contract_communities, or holding one of its devices);
- official and anything unknown: nothing (fails closed; officials see reports only).
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from supervisor.core.choices import Role
from supervisor.inventory.models import Community, Contract, Device, contract_communities


def _role(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "role", None)


def _contractor_id(user: Any) -> int | None:
    return getattr(user, "contractor_id", None) if _role(user) == Role.CONTRACTOR else None


def _contract_ids(contractor_id: int) -> Select:
    return select(Contract.id).where(Contract.contractor_id == contractor_id)


def _tenant_clause(user: Any, for_contractor: Callable[[int], ColumnElement[bool]]
                   ) -> ColumnElement[bool]:
    """The one rule: police see everything, a bound contractor what `for_contractor` allows
    for its id, anyone else nothing (fails closed)."""
    if _role(user) == Role.POLICE:
        return true()
    contractor_id = _contractor_id(user)
    if contractor_id is None:
        return false()
    return for_contractor(contractor_id)


def device_clause(user: Any) -> ColumnElement[bool]:
    """The WHERE condition on Device for `user`."""
    return _tenant_clause(user, lambda cid: Device.contract_id.in_(_contract_ids(cid)))


def _contractor_communities(contractor_id: int) -> ColumnElement[bool]:
    ids = _contract_ids(contractor_id)
    return or_(
        Community.id.in_(select(contract_communities.c.community_id)
                         .where(contract_communities.c.contract_id.in_(ids))),
        Community.id.in_(select(Device.community_id).where(Device.contract_id.in_(ids))),
    )


def community_clause(user: Any) -> ColumnElement[bool]:
    """The WHERE condition on Community for `user`."""
    return _tenant_clause(user, _contractor_communities)


def contract_clause(user: Any) -> ColumnElement[bool]:
    """The WHERE condition on Contract for `user`."""
    return _tenant_clause(user, lambda cid: Contract.contractor_id == cid)


def devices_for(user: Any) -> Select:
    """select(Device) restricted to what `user` may see."""
    return select(Device).where(device_clause(user))


def communities_for(user: Any) -> Select:
    """select(Community) restricted to what `user` may see."""
    return select(Community).where(community_clause(user))


def contracts_for(user: Any) -> Select:
    """select(Contract) restricted to what `user` may see."""
    return select(Contract).where(contract_clause(user))
