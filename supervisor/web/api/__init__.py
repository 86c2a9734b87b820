"""The JSON API (`/api/v1/...`): read-only, scoped like the pages, JSON errors."""
