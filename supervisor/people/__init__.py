"""People: users, roles and passwords (argon2), and the `flask users` commands.

May import: `supervisor.core`, `supervisor.inventory.models` (a contractor user's contractor).
"""
