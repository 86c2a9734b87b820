"""A sweeping process for the SIGKILL test: `python sweeper_proc.py DB_URI PROFILE_DIR EVIDENCE`.

Sweeps the fast tier forever in small batches, pausing after each committed batch so a
sweep spans about two seconds; prints one line per committed batch."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from flask import current_app

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import create_app  # noqa: E402


def main() -> None:
    uri, profiles, evidence = sys.argv[1:4]
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "x", "EVIDENCE_DIR": evidence,
                      "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4=",
                      "HEALTH_FAST_SAMPLE_EVERY_S": 0})
    with app.app_context():
        from supervisor.profiles.loader import load_profile
        from supervisor.sweeps.pipeline import run_sweep

        profile = load_profile("healthtest", directory=profiles, check_in_use=False)

        def paced(n: int) -> None:
            print(f"batch {n}", flush=True)
            time.sleep(0.15)

        while True:
            s = run_sweep("fast", profile=profile, batch_size=3, deadline_s=30,
                          trigger="test", after_batch=paced, settings=current_app.extensions["settings"])
            print(f"sweep {s.sweep_id} done", flush=True)


if __name__ == "__main__":
    main()
