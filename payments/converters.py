"""URL converters shared by the patron pages and the staff desk."""

from django.urls import register_converter


class OrderReferenceConverter:
    """`<reference:reference>`: the characters a payment order reference is made of
    ('EP-7K3M-9XQ2'). Anything else, a NUL byte say, is a 404 before any query."""

    regex = r"[0-9A-Z-]{1,16}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(OrderReferenceConverter, "reference")
