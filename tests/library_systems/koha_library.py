"""A Koha that keeps patrons' account lines and answers the portal's reads from them, over
HTTP, every request and answer checked against Koha's own description (specs/)."""

from dataclasses import dataclass, field

from tests.library_systems.fake_server import SPECS, FakeServer, Reply, SwaggerCheck

CHECK = SwaggerCheck(SPECS / "koha-account.yaml")


@dataclass
class KohaPatron:
    patron_id: int
    cardnumber: str
    surname: str
    firstname: str = ""
    email: str = ""
    pin: str = ""
    lines: dict[int, dict] = field(default_factory=dict)

    def as_patron(self) -> dict:
        return {
            "patron_id": self.patron_id, "cardnumber": self.cardnumber, "surname": self.surname,
            "firstname": self.firstname, "email": self.email or None, "library_id": "CPL",
            "category_id": "PT",
        }  # fmt: skip

    def as_account(self) -> dict:
        outstanding = [line for line in self.lines.values() if line["amount_outstanding"] != 0]
        total = sum(line["amount_outstanding"] for line in outstanding)
        return {
            "balance": total,
            "outstanding_debits": {"total": total, "lines": outstanding},
            "outstanding_credits": {"total": 0, "lines": []},
        }


class KohaLibrary:
    """``with KohaLibrary() as koha:`` ; ``koha.server.url`` is its address."""

    def __init__(self):
        self.patrons: dict[int, KohaPatron] = {}
        self.server = FakeServer(CHECK)
        self.server.route("GET", r"/api/v1/patrons/(\d+)/account", self._account)
        self.server.route("GET", r"/api/v1/patrons/(\d+)", self._patron)
        self.server.route("GET", r"/api/v1/patrons/(\d+)/account/(credits|debits)", self._written)
        self.server.route("POST", r"/api/v1/patrons/(\d+)/account/credits", self._credit)
        self.server.route("POST", r"/api/v1/auth/password/validation", self._validation)
        self.credits: list[dict] = []  # what the portal booked, as it sent it
        self._next_line = 1000

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.server.url

    def add_patron(self, patron_id: int, cardnumber: str, surname: str, **fields) -> KohaPatron:
        self.patrons[patron_id] = KohaPatron(patron_id, cardnumber, surname, **fields)
        return self.patrons[patron_id]

    def add_fee(self, patron_id: int, cents: int, *, debit_type="OVERDUE", description="Overdue",
                library_id="CPL", internal_note=None) -> int:  # fmt: skip
        self._next_line += 1
        self.patrons[patron_id].lines[self._next_line] = {
            "account_line_id": self._next_line, "patron_id": patron_id, "amount": cents / 100,
            "amount_outstanding": cents / 100, "debit_type": debit_type,
            "description": description, "library_id": library_id,
            "internal_note": internal_note, "date": "2026-11-30T10:00:00+00:00",
        }  # fmt: skip
        return self._next_line

    def set_outstanding(self, patron_id: int, line_id: int, cents: int) -> None:
        self.patrons[patron_id].lines[line_id]["amount_outstanding"] = cents / 100

    def _found(self, request):
        patron = self.patrons.get(int(request.path.split("/")[4]))
        return patron, (None if patron else Reply(404, {"error": "Patron not found"}))

    def _account(self, request):
        patron, missing = self._found(request)
        return missing or Reply(200, patron.as_account())

    def _written(self, request):
        return Reply(200, [])  # the portal finds nothing written before: a first attempt

    def _credit(self, request):
        """A payment: it pays the lines it names, as Koha does, up to what they owe."""
        patron, missing = self._found(request)
        if missing:
            return missing
        body = request.json()
        self.credits.append(body)
        left = round(body["amount"] * 100)
        for line_id in body.get("account_lines_ids", []):
            line = patron.lines[line_id]
            paid = min(left, round(line["amount_outstanding"] * 100))
            line["amount_outstanding"] = round(line["amount_outstanding"] - paid / 100, 2)
            left -= paid
        self._next_line += 1
        return Reply(201, {"account_line_id": self._next_line, "amount": -body["amount"]})

    def _validation(self, request):
        """Koha tries the identifier as a user id, then as a card number; a wrong password
        and an unknown patron are the same 400."""
        body = request.json()
        patron = next(
            (p for p in self.patrons.values() if p.cardnumber == body.get("identifier")), None
        )
        if patron is None or not patron.pin or patron.pin != body["password"]:
            return Reply(400, {"error": "Validation failed"})
        return Reply(201, {"cardnumber": patron.cardnumber, "patron_id": patron.patron_id,
                           "userid": f"user{patron.patron_id}"})  # fmt: skip

    def _patron(self, request):
        patron, missing = self._found(request)
        return missing or Reply(200, patron.as_patron())
