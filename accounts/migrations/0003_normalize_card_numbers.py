from django.db import migrations

from accounts.cards import normalize_card_number


def normalize_card_numbers(apps, schema_editor):
    """Store every card number as the login looks it up.

    A row whose normalised number another patron holds already is left as it was, for
    the library to sort out: card numbers are unique.
    """
    Patron = apps.get_model("accounts", "Patron")
    rows = list(Patron.objects.order_by("pk").values_list("pk", "card_number"))
    taken = {card_number for _, card_number in rows}
    for pk, card_number in rows:
        normalized = normalize_card_number(card_number)
        if normalized == card_number or normalized in taken:
            continue
        Patron.objects.filter(pk=pk).update(card_number=normalized)
        taken.discard(card_number)
        taken.add(normalized)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_desk_staff_group")]

    operations = [migrations.RunPython(normalize_card_numbers, migrations.RunPython.noop)]
