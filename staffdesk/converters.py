"""The staff desk's URL converters, in one place; importing this module registers them.

An order's `<reference:...>` is shared with the patron pages and registered by
payments.converters, imported here so the desk's URLs need only this module.
"""

import datetime

from django.urls import register_converter

import payments.converters  # noqa: F401 - registers <reference:...>


class IsoDateConverter:
    """`<isodate:...>`: a date written 2026-11-21."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(value) from error

    def to_url(self, value):
        return value if isinstance(value, str) else value.isoformat()


class UserNumberConverter:
    """`<user_number:...>`: a patron's user number, as the library system sends it."""

    # A NUL byte can't be compared with PostgreSQL text: no such patron, a 404.
    regex = r"[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(IsoDateConverter, "isodate")
register_converter(UserNumberConverter, "user_number")
