"""Fee types as staff manage them: the seeded codes, names, and booking against them."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fees import services
from fees.models import FeeKind, FeeType, fee_type_name
from tests.factories import FeeFactory, FeeKindFactory, PatronFactory

pytestmark = pytest.mark.django_db


def test_the_data_migration_seeds_the_former_fee_types_payable_online():
    kinds = FeeKind.objects.filter(code__in=FeeType.values)

    assert sorted(kinds.values_list("code", flat=True)) == sorted(FeeType.values)
    assert all(kind.payable_online for kind in kinds)
    assert FeeKind.objects.get(code="reminder").name_de == "Mahngebühr"


def test_fee_book_accepts_a_fee_type_added_by_staff():
    FeeKindFactory(code="copies")

    fee = services.fee_book(
        patron=PatronFactory(), amount_cents=100, description="Copies", fee_type="copies"
    )

    assert fee.fee_type == "copies"


def test_fee_book_refuses_a_code_missing_from_the_table():
    with pytest.raises(ValidationError) as error:
        services.fee_book(
            patron=PatronFactory(), amount_cents=100, description="x", fee_type="parking"
        )

    assert error.value.code == "invalid_fee_type"


def test_fee_type_name_follows_the_interface_language():
    with translation.override("de"):
        assert fee_type_name("overdue") == "Säumnisgebühr"
    with translation.override("en"):
        assert fee_type_name("overdue") == "Overdue fine"


def test_fee_type_name_falls_back_to_the_english_name_then_the_code():
    FeeKindFactory(code="copies", name_en="Copies", name_de="")

    with translation.override("de"):
        assert fee_type_name("copies") == "Copies"
    assert fee_type_name("parking") == "parking"


def test_admin_lists_and_searches_fee_types(admin_client):
    page = admin_client.get("/admin/fees/feekind/", {"q": "reminder"}).content.decode()

    assert "Reminder fee" in page
    assert "Membership fee" not in page


def test_admin_edits_payable_online_but_cannot_delete(admin_client):
    kind = FeeKind.objects.get(code="lost_item")
    url = f"/admin/fees/feekind/{kind.pk}/change/"

    response = admin_client.post(
        url,
        {
            "name_en": "Lost item",
            "name_de": "Verlorenes Medium",
            "payable_online": "",
            "cost_centre": "4711",
            "budget_line": "",
            "object_number": "",
        },
    )

    assert response.status_code == 302
    kind.refresh_from_db()
    assert (kind.payable_online, kind.cost_centre, kind.code) == (False, "4711", "lost_item")
    assert admin_client.post(f"/admin/fees/feekind/{kind.pk}/delete/").status_code == 403


def test_admin_journal_shows_the_fee_type_name_in_the_interface_language(admin_client):
    FeeKindFactory(code="copies", name_en="Copies", name_de="Kopien")
    FeeFactory(fee_type="copies")
    FeeFactory(fee_type="legacy")

    with translation.override("de"):
        page = admin_client.get(
            "/admin/fees/journalentry/", HTTP_ACCEPT_LANGUAGE="de"
        ).content.decode()

    assert "Kopien" in page
    assert "legacy" in page


def test_admin_journal_filters_by_fee_type(admin_client):
    FeeFactory(fee_type="reminder", description="Second reminder")
    FeeFactory(fee_type="overdue", description="Late book")

    page = admin_client.get("/admin/fees/journalentry/", {"fee_type": "reminder"}).content.decode()

    assert "Second reminder" in page
    assert "Late book" not in page
