"""Fee owners: the libraries and branches whose fees the portal takes payments for, each
with its own merchant account, rules and books.

An owner's secrets are never stored here: the owner names the environment variables
that hold them (`secret`). A field left empty means the portal's setting, so a library
with one owner keeps configuring everything through its settings.
"""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from fees.models.journal import name_in_language

ENV_NAME = r"^[A-Z][A-Z0-9_]*$"
PROVIDER_NAMES = r"^[a-z]+(,[a-z]+)*$"


class OwnerQuerySet(models.QuerySet):
    def default(self) -> "Owner":
        """The owner of fees that name none: made from the settings when there is none yet
        (migration 0007 makes it; a database emptied since gets it back here)."""
        owner, _created = self.get_or_create(is_default=True, defaults={"code": "default"})
        return owner

    def for_code(self, code: str) -> "Owner":
        """The owner a library system names by `code`; the default owner for none."""
        if not code:
            return self.default()
        owner = self.filter(code=code).first()
        if owner is None:
            raise ValidationError(
                _("Unknown owner %(code)s: add it in the admin first.") % {"code": code},
                code="unknown_owner",
            )
        return owner


class Owner(models.Model):
    code = models.CharField(
        _("code"),
        max_length=64,
        unique=True,
        help_text=_(
            "As the library system names the owner of a fee: Koha's library_id, FOLIO's "
            "owner id, Alma's owner."
        ),
    )
    name_en = models.CharField(
        _("name (English)"),
        max_length=100,
        blank=True,
        help_text=_("Empty for the default owner: the portal's LIBRARY_NAME."),
    )
    name_de = models.CharField(_("name (German)"), max_length=100, blank=True)
    is_default = models.BooleanField(
        _("default owner"),
        default=False,
        help_text=_("Fees that name no owner are this owner's. Exactly one owner is."),
    )
    provider = models.CharField(
        _("payment providers"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(PROVIDER_NAMES)],
        help_text=_(
            "One provider, or several separated by commas (stripe,paypal): patrons then "
            "choose one, the first preselected. Empty: the portal's PAYMENT_PROVIDER setting."
        ),
    )
    stripe_secret_key_env = models.CharField(
        _("environment variable with the Stripe secret key"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(ENV_NAME)],
        help_text=_("Its name, not the key. Empty: the portal's STRIPE_SECRET_KEY."),
    )
    stripe_webhook_secret_env = models.CharField(
        _("environment variable with the Stripe webhook secret"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(ENV_NAME)],
        help_text=_("Its name, not the secret. Empty: the portal's STRIPE_WEBHOOK_SECRET."),
    )
    paypal_client_id = models.CharField(
        _("PayPal client id"),
        max_length=128,
        blank=True,
        help_text=_("The owner's PayPal REST app. Empty: the portal's PAYPAL_CLIENT_ID."),
    )
    paypal_client_secret_env = models.CharField(
        _("environment variable with the PayPal client secret"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(ENV_NAME)],
        help_text=_("Its name, not the secret. Empty: the portal's PAYPAL_CLIENT_SECRET."),
    )
    paypal_webhook_id = models.CharField(
        _("PayPal webhook id"),
        max_length=64,
        blank=True,
        help_text=_("The id of the app's webhook. Empty: the portal's PAYPAL_WEBHOOK_ID."),
    )
    online_minimum_cents = models.PositiveIntegerField(
        _("online minimum (cents)"),
        null=True,
        blank=True,
        help_text=_("Empty: the portal's ONLINE_MINIMUM_CENTS."),
    )
    online_maximum_cents = models.PositiveIntegerField(
        _("online maximum (cents)"),
        null=True,
        blank=True,
        help_text=_("Empty: the portal's ONLINE_MAXIMUM_CENTS. 0: no maximum."),
    )
    service_fee_cents = models.PositiveIntegerField(
        _("service fee (cents)"),
        default=0,
        help_text=_(
            "Added to each online payment to this owner and booked as a fee of its own when "
            "the payment arrives; patrons see it before they pay. The library system is not "
            "told of it. 0: none."
        ),
    )
    cost_centre = models.CharField(
        _("cost centre"),
        max_length=64,
        blank=True,
        help_text=_(
            "The owner's fees are booked to it in the accounting export, whatever their fee "
            "type names."
        ),
    )
    library_system_env = models.CharField(
        _("own library system (environment prefix)"),
        max_length=32,
        blank=True,
        validators=[RegexValidator(ENV_NAME)],
        help_text=_(
            "For an owner with a library system of its own: the prefix of the environment "
            "variables that configure it, e.g. NORTH for NORTH_LIBRARY_SYSTEM_TARGET, "
            "NORTH_LIBRARY_SYSTEM_URL and so on. Empty: the portal's library system."
        ),
    )
    library_service_point = models.CharField(
        _("service point in the library system"),
        max_length=64,
        blank=True,
        help_text=_(
            "FOLIO: the UUID of the service point this owner's payments are booked at. "
            "Empty: LIBRARY_SYSTEM_LIBRARY."
        ),
    )
    library_payment_method = models.CharField(
        _("payment method in the library system"),
        max_length=64,
        blank=True,
        help_text=_(
            "FOLIO: the name of this fee/fine owner's payment method for online payments. "
            "Empty: ePayment."
        ),
    )
    email_sender = models.EmailField(
        _("e-mail sender"), blank=True, help_text=_("Empty: the portal's DEFAULT_FROM_EMAIL.")
    )
    receipt_footer = models.TextField(_("receipt footer"), blank=True)

    objects = OwnerQuerySet.as_manager()

    class Meta:
        verbose_name = _("fee owner")
        verbose_name_plural = _("fee owners")
        ordering = ["-is_default", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_owner"
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def clean(self):
        # The payment app knows its providers (PAYMENT_PROVIDER_REGISTRY); fees does not
        # import it, as accounts reaches the library system through SIGN_IN_PATRON_LOOKUP.
        known = import_string(settings.PAYMENT_PROVIDER_REGISTRY)
        unknown = [name for name in self.payment_providers if name not in known]
        if self.provider and unknown:
            raise ValidationError(
                {
                    "provider": _("No such payment provider: %(names)s (known: %(known)s).")
                    % {"names": ", ".join(unknown), "known": ", ".join(known)}
                }
            )

    @property
    def name(self) -> str:
        """The name in the interface language; the default owner without one of its own
        is the portal's LIBRARY_NAME."""
        own = name_in_language(self.name_en, self.name_de)
        return own or (settings.LIBRARY_NAME if self.is_default else self.code)

    @property
    def payment_providers(self) -> list[str]:
        """The providers the owner's patrons may pay with; the first is the one chosen
        unless they choose another."""
        names = [name.strip() for name in self.provider.split(",") if name.strip()]
        return list(dict.fromkeys(names)) or [settings.PAYMENT_PROVIDER]

    @property
    def payment_provider(self) -> str:
        return self.payment_providers[0]

    @property
    def minimum_cents(self) -> int:
        own = self.online_minimum_cents
        return max(0, settings.ONLINE_MINIMUM_CENTS if own is None else own)

    @property
    def maximum_cents(self) -> int:
        own = self.online_maximum_cents
        return max(0, settings.ONLINE_MAXIMUM_CENTS if own is None else own)

    @property
    def sender(self) -> str:
        return self.email_sender or settings.DEFAULT_FROM_EMAIL

    def secret(self, env_field: str, setting: str) -> str:
        """The secret an environment variable named in `env_field` holds; the portal's
        `setting` when the owner names none."""
        name = getattr(self, env_field)
        if not name:
            return getattr(settings, setting)
        try:
            return os.environ[name]
        except KeyError as error:
            raise ImproperlyConfigured(
                f"Owner {self.code}: the environment variable {name} is not set."
            ) from error


def owned_by(owner_ids, path: str = "owner") -> Q:
    """Rows whose owner (at `path`) is one of `owner_ids`; a row that names none (booked
    before owners existed, or at a desk of all owners) is the default owner's."""
    condition = Q(**{f"{path}_id__in": owner_ids})
    if Owner.objects.default().pk in owner_ids:
        condition |= Q(**{f"{path}__isnull": True})
    return condition
