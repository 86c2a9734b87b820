"""The demo: `flask demo` sets up a simulated fleet, its inventory, seeded users and the
scheduler on the app it is given, and serves the pages.

May import: every `supervisor` package (it wires them together for a person to try).
"""
