"""Image-quality diagnosis (numpy + OpenCV, no database).

``diagnose(frame, previous=None, reference=None, thresholds=None, captured_at=None)``
returns a ``Diagnosis`` (``calibration=learn(...)`` judges a camera without a reference
against its own normal range); ``Thresholds.from_mapping(section, overrides)`` reads a profile's
``image_quality`` section; ``QualityPool`` runs diagnoses in worker processes for asyncio
callers. ``python -m probes.quality`` is the shell.
"""
from probes.quality.calibration import Calibration, learn
from probes.quality.diagnose import Diagnosis, Fault, diagnose, judge, measure_all
from probes.quality.frame import FrameError, load_frame
from probes.quality.pool import QualityPool
from probes.quality.thresholds import FAULTS, Rule, Thresholds

__all__ = ["Calibration", "learn", "Diagnosis", "Fault", "FrameError", "FAULTS", "QualityPool", "Rule", "Thresholds",
           "diagnose", "judge", "load_frame", "measure_all"]
