"""Aleph target: reports payments with the RESTful API's "pay cash" update (put-pat-cash).

Aleph 22.1 (rep_change 2036) lets an external payment system tell Aleph that a patron paid:
a PUT on the patron's cash list in the RESTful (DLF) API updates the cash transactions (Z31).
Sources read:

- Ex Libris Knowledge Center, "Aleph enhanced to provide an infrastructure for paying
  patron's debts via OPAC" and "Credit-card payment by patrons in Aleph":
  https://knowledge.exlibrisgroup.com/Aleph/Knowledge_Articles/Aleph_enhanced_to_provide_an_infrastructure_for_paying_patron's_debts_via_OPAC
  https://knowledge.exlibrisgroup.com/Aleph/Knowledge_Articles/Automated_credit_card_payments/Credit-card_payment_by_patrons_in_Aleph
- Developer Network, Aleph RESTful APIs, Cash (GET of the cash list and of one cash
  transaction, ``institution`` and ``view`` parameters):
  https://developers.exlibrisgroup.com/aleph/apis/aleph-restful-apis/cash/
- Developer Network, Aleph RESTful APIs (the resource tree: Patrons > Patron Information >
  address), https://developers.exlibrisgroup.com/aleph/apis/Aleph-RESTful-APIs/ , and, for
  the elements of the address answer, VuFind's Aleph ILS driver (vufind-org/vufind,
  module/VuFind/src/VuFind/ILS/Driver/Aleph.php, getMyProfileDLF and its address mappings),
  which reads ``<address-information>`` with ``z304-address-1`` as the full name and
  ``z304-email-address``, and asks the address resource with no parameters.

Ex Libris publishes no machine-readable description, and the PUT's input XML is not in the
pages that could be read here. Assumed, from the documented GET resources and from two
public client programs that call the PUT:

- The update is ``PUT <LIBRARY_SYSTEM_URL>/patron/{patron id}/circulationActions/cash
  ?institution=<ADM library>`` with the body ``post_xml=<pay-cash-parameters><sum>12.34</sum>
  <pay-reference>...</pay-reference></pay-cash-parameters>`` sent as raw text (not
  URL-encoded, no Content-Type), the way Aleph's RESTful API takes XML input. Aleph pays the
  patron's open cash transactions with that sum.
- The same PUT on ``.../circulationActions/cash/{cash id}`` pays that one transaction; a
  fee's id in the portal (``FeeShare.fee_id``) is that cash id, the last path element of the
  transaction's href in Aleph's cash list.
- The sum is a decimal with a point and two places; success is ``<reply-code>0000</reply-code>``
  in the XML answer (Aleph answers errors with HTTP 200 too, so any other reply code is a
  PermanentError carrying Aleph's reply text).
- The pay-reference is stored with the payment and shown in the cash transaction's full view.
  It is the bare movement key (Z31 fields are short), or ``<key>/all`` for the whole-list
  payment; a key with other characters than letters, digits and ``. _ : -`` (or longer than
  60) is refused, since the raw body could not carry it unchanged. Before paying, the
  adapter reads the transaction (or the cash list) with ``view=full`` and skips the payment
  when an element holds exactly that reference. If an Aleph installation does not show it,
  a retry after a timeout could pay twice: check the delivery list after such failures.

What is sent: a payment pays each fee's cash transaction with its share and the rest of the
money (unassigned, shares without a fee id) on the patron's whole cash list. Aleph's APIs
offer no way to re-open a paid transaction or to create one, so a reversal or a refund is
refused with a PermanentError saying what to book by hand in the Aleph client.

Configuration: LIBRARY_SYSTEM_URL (the rest-dlf base, e.g. http://aleph.example.org:1891/rest-dlf),
LIBRARY_SYSTEM_LIBRARY (the ADM library, e.g. USM50), and for the sign-in's PIN check the
X-server, LIBRARY_SYSTEM_XSERVER_URL (default: /X on the rest-dlf host, e.g.
http://aleph.example.org/X). The RESTful API has no login of its own;
LIBRARY_SYSTEM_USER and LIBRARY_SYSTEM_PASSWORD, when set, are sent as HTTP Basic auth for a
proxy in front of it. LIBRARY_SYSTEM_SUB_LIBRARY is not sent: the sources name no field for it.
"""

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit, urlunsplit

import requests
from django.core.exceptions import ImproperlyConfigured

from payments.library_systems.base import (
    Movement,
    PermanentError,
    TransientError,
    amount_text,
    fee_amounts,
    http_send,
    path_segment,
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
)

SAFE_REFERENCE = re.compile(r"[A-Za-z0-9._:-]{1,60}")


class AlephTarget:
    name = "aleph"

    def __init__(
        self,
        *,
        url: str,
        institution: str,
        user: str = "",
        password: str = "",
        xserver_url: str = "",
        timeout: float = 10,
        session: requests.Session | None = None,
    ):
        self.url = url.rstrip("/")
        self.xserver_url = xserver_url or xserver_url_of(self.url)
        self.institution = institution
        self.auth = (user, password) if user else None
        self.timeout = timeout
        self.session = session or requests.Session()

    # --- reading ---------------------------------------------------------------------

    def read_account(self, external_id: str) -> LibraryAccount:
        """The patron's open debits on the cash list, ``GET .../circulationActions/cash
        ?view=full``: each ``<cash>`` whose ``z31-credit-debit`` is a debit and whose
        ``z31-status`` is open (``O``, or none given), with ``z31-sum`` what is owed of it
        (Aleph writes a debit's sum in parentheses), ``z31-type`` its type and
        ``z31-sub-library`` its owner. The field names are the Cash resource's full view as
        Aleph clients read it; the statuses are assumed (see the README). Then the patron's
        name and e-mail from ``GET .../patronInformation/address`` (`patron_of`)."""
        if not external_id:
            raise PermanentError("No Aleph patron id.")
        where = f"Aleph patron {external_id}"
        budget = Budget(self.timeout)  # both calls together, not each
        patron_path = f"/patron/{path_segment(external_id)}"
        answer = self._call("GET", patron_path + "/circulationActions/cash", read=True,
                            params={"institution": self.institution, "view": "full"},
                            timeout=budget.left())  # fmt: skip
        fees = []
        for cash in answer.iter("cash"):
            href = (cash.get("href") or "").rstrip("/")
            fields = {child.tag: (child.text or "").strip() for child in cash.iter()}
            if not href or "z31-sum" not in fields:
                continue  # the list's header: the institution, the open sum
            cash_id = href.rsplit("/", 1)[-1]
            if not fields.get("z31-credit-debit", "D").upper().startswith("D"):
                continue  # a credit of the patron's, not a fee
            if fields.get("z31-status", "O").upper() not in ("O", "OPEN"):
                continue
            sum_text = fields["z31-sum"].strip("() ").replace(",", ".")
            fees.append(
                LibraryFee(
                    fee_id=cash_id,
                    outstanding_cents=cents_of(sum_text, f"{where}: cash {cash_id}"),
                    external_type=fields.get("z31-type", ""),
                    owner_code=fields.get("z31-sub-library", ""),
                    description=fields.get("z31-description", "") or fields.get("z31-type", ""),
                    item=fields.get("z13-title", ""),
                )
            )
        address = self._call("GET", patron_path + "/patronInformation/address", read=True,
                             timeout=budget.left())  # fmt: skip
        return LibraryAccount(patron=patron_of(address, external_id, where), fees=tuple(fees))

    # --- signing in ---------------------------------------------------------------------

    def check_pin(self, card_number: str, pin: str) -> str:
        """The X-server's ``op=bor-auth`` (``library`` the ADM library, ``bor_id`` the card,
        ``verification`` the PIN; ``user_name``/``user_password`` the X-server account, from
        LIBRARY_SYSTEM_USER and _PASSWORD when set), as a POST form so that the PIN stays
        out of URLs. A right PIN answers ``<bor-auth><z303><z303-id>``, the patron id the
        rest-dlf resources take; a wrong PIN or an unknown card ``<bor-auth><error>``, as
        Aleph's clients read it. An error naming the X-server account is the portal's
        configuration, not the patron's PIN (assumed; see the README)."""
        form = {"op": "bor-auth", "library": self.institution, "bor_id": card_number,
                "verification": pin}  # fmt: skip
        if self.auth:
            form.update(user_name=self.auth[0], user_password=self.auth[1])
        response = http_send(self.session, "POST", self.xserver_url, timeout=self.timeout,
                             data=form)  # fmt: skip
        try:
            answer = ET.fromstring(response.content)
        except ET.ParseError as error:
            raise MalformedAnswer(
                f"Aleph's bor-auth answer is not XML: {response.text[:200]!r}"
            ) from error
        refusal = answer.findtext("error")
        if refusal is not None:
            if re.search(r"user.?name|user.?password|not authori[sz]ed", refusal, re.IGNORECASE):
                raise PermanentError(f"Aleph's X-server refused the portal: {refusal.strip()}")
            raise PinRefused
        patron_id = (answer.findtext("z303/z303-id") or "").strip()
        if not patron_id:
            raise MalformedAnswer("Aleph's bor-auth answer names no z303-id")
        return patron_id

    # --- writing -----------------------------------------------------------------------

    def deliver(self, movement: Movement) -> str:
        patron = movement.patron_external_id
        if not patron:
            raise PermanentError(
                f"Movement {movement.key}: no Aleph patron id (patron_external_id is empty); "
                "book it in Aleph by hand."
            )
        if movement.kind in ("reversal", "refund"):
            fees = ", ".join(s.fee_id or f"entry {s.entry_id}" for s in movement.shares)
            raise PermanentError(
                f"Aleph cannot take a {movement.kind} through its APIs: book "
                f"{amount_text(movement.amount_cents)} {movement.currency} for patron {patron} "
                f"(payment {movement.reference}; cash transactions: {fees or 'none'}) by hand."
            )
        if movement.kind != "payment":
            raise PermanentError(f"Unknown movement kind {movement.kind!r}.")
        if not SAFE_REFERENCE.fullmatch(movement.key):
            # The body goes out raw: &, + and % would change it if Aleph decodes it as a form.
            raise PermanentError(
                f"Movement key {movement.key!r} has characters Aleph's raw post_xml body "
                "cannot carry safely; not sent."
            )

        per_cash, loose = fee_amounts(movement)
        cash_list = f"/patron/{path_segment(patron)}/circulationActions/cash"
        paid, skipped = 0, 0
        for cash_id, cents in per_cash.items():
            path = f"{cash_list}/{path_segment(cash_id)}"
            if self._holds(path, movement.key):
                skipped += 1
                continue
            self._pay(path, cents, movement.key)
            paid += 1
        note = f"Aleph patron {patron}: {paid} cash transaction(s) paid"
        if skipped:
            note += f", {skipped} already paid"
        if loose:
            reference = f"{movement.key}/all"
            if self._holds(cash_list, reference):
                note += f"; {amount_text(loose)} on the cash list already paid"
            else:
                self._pay(cash_list, loose, reference)
                note += f"; {amount_text(loose)} paid on the cash list"
        return note

    def _holds(self, path: str, reference: str) -> bool:
        answer = self._call("GET", path, params={"institution": self.institution, "view": "full"})
        return any((element.text or "").strip() == reference for element in answer.iter())

    def _pay(self, path: str, cents: int, reference: str) -> None:
        xml = (
            "<pay-cash-parameters>"
            f"<sum>{amount_text(cents)}</sum>"
            f"<pay-reference>{reference}</pay-reference>"
            "</pay-cash-parameters>"
        )
        self._call(
            "PUT",
            path,
            params={"institution": self.institution},
            data=("post_xml=" + xml).encode(),
        )

    def _call(
        self, method: str, path: str, read: bool = False, timeout=None, **kwargs
    ) -> ET.Element:
        """The XML answer; one that is not XML is transient when delivering, and cannot be
        read (MalformedAnswer) when reading."""
        response = http_send(
            self.session,
            method,
            self.url + path,
            timeout=timeout or self.timeout,
            auth=self.auth,
            **kwargs,
        )
        try:
            answer = ET.fromstring(response.content)
        except ET.ParseError as error:
            problem = MalformedAnswer if read else TransientError
            raise problem(
                f"{method} {path}: Aleph's answer is not XML: {response.text[:200]!r}"
            ) from error
        code = answer.findtext(".//reply-code")
        if code is not None and code.strip() != "0000":
            text = (answer.findtext(".//reply-text") or "").strip()
            note = (answer.findtext(".//note") or "").strip()
            raise PermanentError(f"{method} {path}: Aleph reply {code.strip()} {text} {note}")
        return answer


def patron_of(answer: ET.Element, external_id: str, where: str) -> PatronRecord:
    """The patron's name and e-mail from the address resource's ``<address-information>``
    (Z304): ``z304-address-1`` is the name, written "Last name, first names" (split at the
    first comma; without one it is all last name), ``z304-email-address`` the e-mail (the
    first, should it hold several separated by ";" or ","). The address resource carries
    no card number (barcode): the portal keeps its own. See the README for what is assumed."""
    address = answer.find(".//address-information")
    if address is None:
        raise MalformedAnswer(f"{where}: the address answer has no address-information")
    last_name, _comma, first_name = (address.findtext("z304-address-1") or "").partition(",")
    emails = re.split(r"[;,\s]+", (address.findtext("z304-email-address") or "").strip())
    return PatronRecord(
        external_id=external_id,
        last_name=last_name.strip(),
        first_name=first_name.strip(),
        email=emails[0],
    )


def xserver_url_of(rest_url: str) -> str:
    """The X-server on the rest-dlf host's default port: http://aleph:1891/rest-dlf ->
    http://aleph/X."""
    parts = urlsplit(rest_url)
    return urlunsplit((parts.scheme, parts.hostname or "", "/X", "", ""))


def from_settings(config: SystemConfig | None = None) -> AlephTarget:
    config = config or SystemConfig.portal()
    if not config.url or not config.library:
        raise ImproperlyConfigured(
            f"The Aleph target needs {config.setting('url')} (the rest-dlf base URL) and "
            f"{config.setting('library')} (the ADM library, e.g. USM50)."
        )
    return AlephTarget(
        url=config.url,
        institution=config.library,
        user=config.user,
        password=config.password,
        xserver_url=config.xserver_url,
        timeout=config.timeout,
    )
