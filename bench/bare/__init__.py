"""A bare Django app for the HTTP benchmark's yardstick: the same PostgreSQL tables, read
by the ORM and rendered by a template, with nothing else (no sessions, no middleware)."""
