"""The portal's tables as plain unmanaged models: the benchmark reads them, never writes."""

from django.db import models


class Patron(models.Model):
    user_number = models.CharField(max_length=32, unique=True)
    card_number = models.CharField(max_length=32)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)

    class Meta:
        managed = False
        db_table = "accounts_patron"

    def __str__(self):
        return self.user_number


class Entry(models.Model):
    patron = models.ForeignKey(Patron, on_delete=models.DO_NOTHING)
    kind = models.CharField(max_length=16)
    amount_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booked_at = models.DateTimeField()
    description = models.CharField(max_length=255)

    class Meta:
        managed = False
        db_table = "fees_journalentry"

    def __str__(self):
        return f"{self.kind} {self.amount_cents}"
