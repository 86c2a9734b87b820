"""Talking to devices: reach, ONVIF, SNMP, frame grab; typed results, no DB, no Flask.

Public API: ``probes.model`` (DeviceTarget, ProbeResult and its parts, ProbeError),
``probes.config`` (TierSpec, Limits), ``probes.runner.run_batch`` / ``probe_one``,
``probes.deltas`` (reboot and counter deltas), the shell ``python -m probes HOST``.
Image-quality diagnosis lives in ``probes.quality``.
"""
