"""Inventory: communities, contractors, contracts, devices; reading and validating import
files (columns, cell parsers, the importer), exports, the device-update rule shared by the
import, the edit page and the API, device list queries, durable import jobs and the
`flask inventory` commands.

May import: `supervisor.core`, `supervisor.profiles`.
"""
