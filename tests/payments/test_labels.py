"""Statuses, payment methods and what an order's history says, in the reader's language."""

import pytest
from django.utils import translation

from payments.labels import event_text, method_label, provider_label, status_label
from payments.models import EventKind, PaymentEvent


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


def booked_money_event(**facts) -> PaymentEvent:
    received = {"amount_cents": 250, "currency": "EUR", "received_at": "2026-12-02T05:21:00+00:00"}
    return PaymentEvent(kind=EventKind.MONEY_BOOKED, facts=received | facts, note="geprüft")


def test_an_event_reads_in_german_with_german_amounts_and_dates():
    with translation.override("de"):
        assert event_text(booked_money_event()) == "2,50 EUR vom 02.12.2026 06:21 gebucht. geprüft"


def test_the_same_event_reads_in_english_with_the_english_formats():
    with translation.override("en"):
        text = event_text(booked_money_event())

    assert text.startswith("Booked 2.50 EUR received on ") and text.endswith(". geprüft")
    assert "2026-12-02" not in text


def test_a_resolved_flag_reads_as_the_resolution_in_german_then_the_staffs_words():
    event = PaymentEvent(
        kind=EventKind.FLAG_RESOLVED, facts={"resolution": "patron_contacted"}, note="Angerufen"
    )

    with translation.override("de"):
        assert event_text(event).startswith("Rückbuchung zur Kenntnis genommen")
        assert event_text(event).endswith(". Angerufen")


def test_an_event_without_a_kind_shows_its_note_as_given():
    assert event_text(PaymentEvent(note="ch_123: fraudulent")) == "ch_123: fraudulent"


def test_a_chargeback_is_one_word_in_german():
    with translation.override("de"):
        assert status_label("Cancelation") == "Rückbuchung"


@pytest.mark.parametrize(
    ("provider", "expected"), [("simulated", "simulierter Anbieter"), ("stripe", "Stripe")]
)
def test_a_provider_reads_in_german(provider, expected):
    with translation.override("de"):
        assert provider_label(provider) == expected
