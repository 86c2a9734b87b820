"""Every table of the platform, gathered for Alembic and for `reports/` (read-only).

Each table is defined in its domain package; this module only imports them so that one
import makes the whole schema known. Domain code imports from the package that owns a table.
"""
from supervisor.acceptance.models import (  # noqa: F401
    AcceptanceResult, AcceptanceRun, CoverageSnapshot, ReferenceCandidate,
)
from supervisor.core.models import AuditEntry  # noqa: F401
from supervisor.health.models import (  # noqa: F401
    CalibrationFrame, DailyRollup, DeviceStatus, EvidenceFrame, MaintenanceWindow, ProbeSample,
    QualityCalibration, StateEvent, StateInterval,
)
from supervisor.inventory.models import Community, Contract, Contractor, Device, ImportJob, contract_communities  # noqa: F401
from supervisor.people.models import User, UserSession  # noqa: F401
from supervisor.profiles.models import ProfileUse  # noqa: F401
from supervisor.sweeps.models import SchedulerLease, SweepRun  # noqa: F401
from supervisor.notifications.models import Delivery, OutboxMessage, Recipient  # noqa: F401
from supervisor.tickets.models import (  # noqa: F401
    Ticket, TicketAttachment, TicketDevice, TicketEvent, WorkCalendarVersion,
)
from supervisor.core.clock import utcnow  # noqa: F401
from supervisor.reporting.models import (  # noqa: F401
    ClockDayRollup, ContractEvent, LedgerAdjustment, LedgerClosing, LedgerWaiver, ReportArchive,
)
