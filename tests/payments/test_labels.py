"""Statuses and payment methods read in the interface language."""

import pytest
from django.utils import translation

from payments.labels import method_label, status_label


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Created at provider"), ("de", "Beim Anbieter erstellt")],
)
def test_a_status_reads_in_the_interface_language(language, expected):
    with translation.override(language):
        assert status_label("CreatedAtProvider") == expected


@pytest.mark.parametrize(
    ("method", "expected"),
    [("card", "Karte"), ("Unknown", "Unbekannt"), ("online: card", "online: Karte")],
)
def test_a_payment_method_reads_in_german(method, expected):
    with translation.override("de"):
        assert method_label(method) == expected


def test_an_unknown_status_or_method_is_shown_as_sent():
    assert status_label("Mystery") == "Mystery"
    assert method_label("campus card") == "campus card"
