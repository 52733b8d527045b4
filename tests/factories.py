import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from accounts.models import Patron
from fees.models import EntryKind, FeeKind, FeeType, JournalEntry, Loan, Owner
from payments.models import Refund

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class DeskStaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"desk{n}")
    is_staff = True

    @factory.post_generation
    def desk_group(obj, create, extracted, **kwargs):
        if not create:
            return
        group, made = Group.objects.get_or_create(name="Desk staff")
        if made:  # a transactional test flushed the group its data migration made
            group.permissions.set(
                Permission.objects.filter(
                    content_type__app_label="accounts", content_type__model="staffdesk"
                ).exclude(codename="refund_to_card")
            )
        obj.groups.add(group)


class PatronFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patron

    user_number = factory.Sequence(lambda n: f"U{n:06d}")
    card_number = factory.Sequence(lambda n: f"20{n:08d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Faker("email")
    # As accounts.services keeps them: the user's e-mail is the patron's.
    user = factory.SubFactory(
        UserFactory,
        username=factory.Sequence(lambda n: f"patron{n}"),
        email=factory.SelfAttribute("..email"),
    )


def _booked_at(entry):
    return timezone.make_aware(datetime.datetime.combine(entry.business_date, datetime.time(10)))


class FeeKindFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeKind
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"type{n}")
    name_en = factory.LazyAttribute(lambda kind: f"Fee type {kind.code}")
    name_de = factory.LazyAttribute(lambda kind: f"Gebührenart {kind.code}")
    payable_online = True


class OwnerFactory(factory.django.DjangoModelFactory):
    """A second library or branch, beside the default owner the migration made."""

    class Meta:
        model = Owner
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"BRANCH-{n}")
    name_en = factory.LazyAttribute(lambda owner: f"Branch {owner.code}")
    name_de = factory.LazyAttribute(lambda owner: f"Zweigstelle {owner.code}")


class JournalEntryFactory(factory.django.DjangoModelFactory):
    """Rows written directly, for history on earlier business dates.

    Tests of the booking rules use the services instead.
    """

    class Meta:
        model = JournalEntry

    patron = factory.SubFactory(PatronFactory)
    currency = "EUR"
    business_date = factory.LazyFunction(timezone.localdate)
    booked_at = factory.LazyAttribute(_booked_at)


class FeeFactory(JournalEntryFactory):
    kind = EntryKind.FEE
    amount_cents = 500
    fee_type = FeeType.OVERDUE
    description = factory.Sequence(lambda n: f"Overdue fine {n}")


class PaymentFactory(JournalEntryFactory):
    kind = EntryKind.PAYMENT
    amount_cents = -500
    method = "cash"


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan

    patron = factory.SubFactory(PatronFactory)
    item = factory.Sequence(lambda n: f"Book {n}")
    due_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))
    daily_fine_cents = 50
    fine_cap_cents = 1000
    currency = "EUR"


class WaitingRefundFactory(factory.django.DjangoModelFactory):
    """A refund to the card requested of `order` and not answered by its provider yet."""

    class Meta:
        model = Refund

    reference = factory.Sequence(lambda n: f"RF-TEST-{n:04d}")
    amount_cents = 200
    currency = "EUR"
    source = Refund.Source.PAYMENT
    reason = "Charged twice"
    requested_by = factory.SubFactory(DeskStaffFactory)
