"""Core: what every domain package stands on.

Holds the one clock (`clock`), the typed settings (`settings`), the Flask extensions and the
declarative base (`extensions`), the shared choices (`choices`), the secret box for device
secrets at rest (`secretbox`), local-time conversion for pages and reports (`localtime`), the
tenant rule (`scoping`), the id parser for ids that arrive from people (`ids`) and the audit log (`audit`, `audit_query`,
`models`).

May import: third-party libraries, and the tables of other packages (`scoping` states the
tenant rule over the inventory's tables); no other package's logic.
"""
