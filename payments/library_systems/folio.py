"""FOLIO target: books movements through mod-feesfines' account actions.

FOLIO describes these calls in RAML and JSON schemas (folio-org/mod-feesfines, mod-users and
mod-login, ramls/); the tests check every request, and every answer the fake gives, against
the copies kept in tests/library_systems/specs/folio/.

A FOLIO fee/fine is an "account" with a UUID; ``FeeShare.fee_id`` is that UUID. What is sent,
one call per fee share (FOLIO needs no patron id for this; the account knows its owner):

- payment: ``POST /accounts/{accountId}/pay`` with the share's amount.
- reversal (chargeback, the fees are owed again): ``POST /accounts/{accountId}/refund``. A
  FOLIO refund credits the paid amount back and re-opens the account for it ("Refunded
  fully/partially", remaining amount raised by the refund), which is what a chargeback
  means to the library: the money went back to the patron, the fee is owed again.
- refund (money paid back to the patron): the portal's refunds pay back the patron's credit
  and name no fee. FOLIO keeps no patron credit outside accounts, so money not tied to a
  FOLIO fee (a refund of credit, the unassigned part of a payment or of its reversal) is not
  sent; the note that ``deliver`` returns says how much stayed in the portal. Should a refund
  name fees, each gets the same ``/refund`` call as a reversal.

A share without a fee id (a debt only the portal knows, e.g. the amount a chargeback
re-opened, which a later payment pays) cannot be booked in FOLIO: there is no "pay the
patron" call, only actions on accounts. Such a movement is refused with a PermanentError
before anything is written, for staff to book by hand.

Every action carries the movement key in ``transactionInfo`` and, as ``[<key>]``, in
``comments`` (FOLIO overwrites transactionInfo on refunds, but keeps comments). FOLIO has no
idempotency key: before each action the adapter asks ``GET /feefineactions`` for an action
on that account whose comments hold the key, and skips the account when there is one, so a
retry never pays or refunds a fee twice.

Configuration: LIBRARY_SYSTEM_URL (Okapi or gateway URL), LIBRARY_SYSTEM_TENANT, and either
LIBRARY_SYSTEM_API_KEY (an x-okapi-token, used as is) or LIBRARY_SYSTEM_USER and
LIBRARY_SYSTEM_PASSWORD (the adapter logs in with ``/authn/login-with-expiry`` and logs in
again before the access token runs out). LIBRARY_SYSTEM_LIBRARY is the UUID of the service
point the actions are booked at (FOLIO requires one). The actions name the payment method
"ePayment" (create it for each fee/fine owner in FOLIO's settings so it shows in the
reports). An owner (fees.models.Owner, whose code is the FOLIO owner) may name its own
service point and payment method instead, which its fees' movements carry. As userName
the actions name LIBRARY_SYSTEM_USER or "epayment-portal". Patrons get no notice from
FOLIO (notifyPatron false): the portal sends its own receipts.
"""

import datetime
import re

import requests
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems.base import (
    KIND_LABELS,
    Movement,
    PermanentError,
    TransientError,
    amount_text,
    fee_amounts,
    http_send,
)
from payments.library_systems.config import SystemConfig
from payments.library_systems.pins import PinRefused
from payments.library_systems.reading import (
    Budget,
    LibraryAccount,
    LibraryFee,
    MalformedAnswer,
    PatronRecord,
    cents_of,
    read_json,
    record_of,
    text_of,
)

PAYMENT_METHOD = "ePayment"
READ_PAGE_SIZE = 100
UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)


def _account_id(fee_id: str) -> str:
    if not UUID.match(fee_id):
        raise PermanentError(f"Fee id {fee_id!r} is not a FOLIO account id.")
    return fee_id


def _cql_string(value: str) -> str:
    """The value as a CQL string literal, its masking characters taken literally."""
    return re.sub(r'([\\"*?^])', r"\\\1", value)


class FolioTarget:
    name = "folio"

    def __init__(
        self,
        *,
        url: str,
        tenant: str,
        service_point_id: str,
        token: str = "",
        user: str = "",
        password: str = "",
        timeout: float = 10,
        session: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.tenant = tenant
        self.service_point_id = service_point_id
        self.user = user
        self.password = password
        self.timeout = timeout
        self.session = session or requests.Session()
        self._token = token
        self._static_token = bool(token)
        self._token_expires: datetime.datetime | None = None

    # --- reading ---------------------------------------------------------------------

    def read_account(self, external_id: str) -> LibraryAccount:
        """The user's open fee/fine accounts, ``GET /accounts?query=(userId==… and
        status.name==Open)``, page by page up to ``totalRecords``, and the user's own data
        from mod-users, ``GET /users/{id}``. A FOLIO refund (how the portal books a
        chargeback) re-opens the same account, so every account is a fee."""
        if not UUID.match(external_id):
            raise PermanentError(f"{external_id!r} is not a FOLIO user id.")
        where = f"FOLIO user {external_id}"
        budget = Budget(self.timeout)
        query = f'(userId=="{_cql_string(external_id)}" and status.name=="Open")'
        accounts, offset, total = [], 0, None
        while total is None or offset < total:
            response = self._send(
                "GET",
                "/accounts",
                params={"query": query, "offset": offset, "limit": READ_PAGE_SIZE},
                timeout=budget.left(),
            )
            page = record_of(read_json(response), where)
            batch = page.get("accounts")
            total = page.get("totalRecords")
            if not isinstance(batch, list) or not isinstance(total, int):
                raise MalformedAnswer(f"{where}: no accounts and totalRecords in the answer")
            accounts += batch
            offset += READ_PAGE_SIZE
            if not batch:
                break
        fees = []
        for index, account in enumerate(accounts):
            account = record_of(account, f"{where}: account {index}")
            account_id = text_of(account, "id", f"{where}: account {index}", required=True)
            title = text_of(account, "title", where)
            fee_type = text_of(account, "feeFineType", where)
            fees.append(
                LibraryFee(
                    fee_id=account_id,
                    outstanding_cents=cents_of(account.get("remaining"), f"{where}: {account_id}"),
                    external_type=fee_type,
                    owner_code=text_of(account, "ownerId", where),
                    description=fee_type or title,
                    item=title,
                )
            )
        user = self._send("GET", f"/users/{external_id}", timeout=budget.left())
        patron = _patron_of(record_of(read_json(user), where), external_id, where)
        return LibraryAccount(patron=patron, fees=tuple(fees))

    # --- signing in ---------------------------------------------------------------------

    def check_pin(self, card_number: str, pin: str) -> str:
        """The user with this barcode (mod-users), then ``POST /patron-pin/verify`` with
        their id and the PIN: 200 when it is right, 422 when not."""
        budget = Budget(self.timeout)
        user_id = self._user_with_barcode(card_number, budget)
        if user_id is None:
            raise PinRefused
        try:
            self._send("POST", "/patron-pin/verify", json={"id": user_id, "pin": pin},
                       timeout=budget.left())  # fmt: skip
        except PermanentError as error:
            if error.status == 422:
                raise PinRefused from None
            raise
        return user_id

    def find_patron(self, card_number: str) -> str | None:
        """The id of the user with this barcode; None when mod-users has none."""
        return self._user_with_barcode(card_number, Budget(self.timeout))

    def _user_with_barcode(self, barcode: str, budget: Budget) -> str | None:
        where = "FOLIO's users by barcode"
        response = self._send(
            "GET", "/users", params={"query": f'barcode=="{_cql_string(barcode)}"', "limit": 2},
            timeout=budget.left(),
        )  # fmt: skip
        users = record_of(read_json(response), where).get("users")
        if not isinstance(users, list):
            raise MalformedAnswer(f"{where}: no users in the answer")
        if len(users) > 1:
            raise MalformedAnswer(f"{where}: several users have barcode {barcode!r}")
        if not users:
            return None
        user_id = text_of(record_of(users[0], where), "id", where, required=True)
        if not UUID.match(user_id):
            raise MalformedAnswer(f"{where}: {user_id!r} is not a user id")
        return user_id

    # --- writing -----------------------------------------------------------------------

    def deliver(self, movement: Movement) -> str:
        if movement.kind == "payment":
            action = "pay"
        elif movement.kind in ("reversal", "refund"):
            action = "refund"
        else:
            raise PermanentError(f"Unknown movement kind {movement.kind!r}.")

        missing = [share.entry_id for share in movement.shares if not share.fee_id]
        if missing:
            raise PermanentError(
                f"Movement {movement.key}: fee entries {missing} have no FOLIO account id "
                "(debts only the portal knows, such as a chargeback's re-opened amount); "
                "FOLIO can only book money against an account. Book it by hand."
            )
        per_account, loose = fee_amounts(movement, _account_id)

        done, skipped = [], []
        for account, cents in per_account.items():
            if self._already_booked(account, movement.key):
                skipped.append(account)
                continue
            self._send(
                "POST",
                f"/accounts/{account}/{action}",
                json=self._action_body(movement, cents),
            )
            done.append(account)
        note = f"FOLIO: {action} on {len(done)} account(s)"
        if skipped:
            note += f", {len(skipped)} already booked"
        if loose:
            note += f"; {amount_text(loose)} {movement.currency} not tied to a FOLIO fee, not sent"
        return note

    def _action_body(self, movement: Movement, cents: int) -> dict:
        return {
            "amount": amount_text(cents),
            "paymentMethod": movement.owner_payment_method or PAYMENT_METHOD,
            "notifyPatron": False,
            "servicePointId": movement.owner_service_point or self.service_point_id,
            "userName": self.user or "epayment-portal",
            "transactionInfo": movement.key,
            "comments": (
                f"STAFF : {KIND_LABELS[movement.kind]} {movement.reference} ({movement.method}) "
                f"[{movement.key}]"
            ),
        }

    def _already_booked(self, account: str, key: str) -> bool:
        query = f'accountId=="{account}" and comments=="*[{_cql_string(key)}]*"'
        response = self._send("GET", "/feefineactions", params={"query": query, "limit": 1})
        try:
            return int(response.json()["totalRecords"]) > 0
        except (ValueError, KeyError, TypeError) as error:
            raise TransientError(
                f"FOLIO answered the fee/fine action search with {response.text[:200]!r}"
            ) from error

    def _send(self, method: str, path: str, timeout=None, **kwargs) -> requests.Response:
        headers = {
            "x-okapi-tenant": self.tenant,
            "x-okapi-token": self._current_token(),
            "Accept": "application/json",
        }
        return http_send(
            self.session,
            method,
            self.url + path,
            timeout=timeout or self.timeout,
            headers=headers,
            **kwargs,
        )

    def _current_token(self) -> str:
        if self._static_token:
            return self._token
        now = datetime.datetime.now(datetime.UTC)
        if self._token and self._token_expires and now < self._token_expires:
            return self._token
        response = http_send(
            self.session,
            "POST",
            self.url + "/authn/login-with-expiry",
            timeout=self.timeout,
            headers={"x-okapi-tenant": self.tenant, "Accept": "application/json"},
            json={"username": self.user, "password": self.password},
        )
        token = response.cookies.get("folioAccessToken")
        # The session would otherwise send the cookies along with the header from now on.
        self.session.cookies.clear()
        if not token:
            raise PermanentError("FOLIO accepted the login but sent no folioAccessToken cookie.")
        try:
            expires = datetime.datetime.fromisoformat(response.json()["accessTokenExpiration"])
        except (ValueError, KeyError, TypeError):
            expires = now + datetime.timedelta(minutes=1)
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=datetime.UTC)
        self._token = token
        self._token_expires = expires - datetime.timedelta(seconds=30)
        return token


def _patron_of(user: dict, external_id: str, where: str) -> PatronRecord:
    """The user's card and name as mod-users has them (userdata.json): ``barcode``,
    ``personal.lastName``, ``personal.firstName``, ``personal.email``. An answer about
    another user than the one asked for cannot be read."""
    answered = text_of(user, "id", where)
    if answered and answered.lower() != external_id.lower():
        raise MalformedAnswer(f"{where}: mod-users answered with user {answered!r}")
    personal = record_of(user.get("personal") or {}, f"{where}: personal")
    return PatronRecord(
        external_id=external_id,
        card_number=text_of(user, "barcode", where),
        first_name=text_of(personal, "firstName", where),
        last_name=text_of(personal, "lastName", where),
        email=text_of(personal, "email", where),
    )


def from_settings(config: SystemConfig | None = None) -> FolioTarget:
    config = config or SystemConfig.portal()
    if not config.url or not config.tenant:
        raise ImproperlyConfigured(
            f"The FOLIO target needs {config.setting('url')} and {config.setting('tenant')}."
        )
    if not config.api_key and not (config.user and config.password):
        raise ImproperlyConfigured(
            f"The FOLIO target needs {config.setting('api_key')} (an Okapi token) or "
            f"{config.setting('user')} and {config.setting('password')}."
        )
    if not UUID.match(config.library):
        raise ImproperlyConfigured(
            f"The FOLIO target needs {config.setting('library')}: the UUID of the service point "
            "FOLIO books the portal's payments at."
        )
    return FolioTarget(
        url=config.url,
        tenant=config.tenant,
        service_point_id=config.library,
        token=config.api_key,
        user=config.user,
        password=config.password,
        timeout=config.timeout,
    )
