"""What officials see. A placeholder page until the reports (issue: uptime/SLA/repayment) land."""
from __future__ import annotations

from flask import Blueprint, render_template

from supervisor.web.guards import roles_required
from supervisor.core.choices import Role

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
@roles_required(Role.POLICE, Role.OFFICIAL, Role.CONTRACTOR)
def index():
    return render_template("reports/placeholder.html")
