"""Standard profiles: the versioned YAML files (in this folder and in the operator's folder),
their schema, the loader, and the in-use lock that refuses an edited version a contract uses.

May import: `supervisor.core`, `supervisor.inventory.models` (which contracts use a version).
"""
