"""A fake FOLIO for the adapter tests: every request and every JSON answer is checked
against the RAML and JSON schemas of mod-feesfines, mod-users and mod-login (specs/folio/)."""

from payments.library_systems import folio
from tests.library_systems.fake_server import SPECS, FakeServer, RamlCheck, Reply

RAMLS = SPECS / "folio"
CHECK = RamlCheck(
    RAMLS / "mod-feesfines/ramls/accounts.raml",
    RAMLS / "mod-feesfines/ramls/feefineactions.raml",
    RAMLS / "mod-login/ramls/login.raml",
    RAMLS / "mod-users/ramls/users.raml",
    RAMLS / "mod-users/ramls/patronpin.raml",
)
SERVICE_POINT = "3a40852d-49fd-4df2-a1f9-6e2641a6e91f"
ACTIONS = r"/feefineactions"
USERS = r"/users/[^/]+"


def _done(request):
    account = request.path.split("/")[2]
    return Reply(
        201, {"accountId": account, "amount": request.json()["amount"], "remainingAmount": "0.00"}
    )


def user(user_id: str, **fields) -> dict:
    """A mod-users user (userdata.json) as GET /users/{id} answers it."""
    return {
        "id": user_id, "username": "momo", "barcode": "2000123", "active": True,
        "type": "patron", "personal": {"lastName": "Momo", "firstName": "Mia",
                                       "email": "mia@example.org"},
        **fields,
    }  # fmt: skip


def fake_folio() -> FakeServer:
    """``with fake_folio() as server:``; the user asked for is always there (``user``)."""
    fake = FakeServer(CHECK)
    fake.route("GET", ACTIONS, Reply(200, {"feefineactions": [], "totalRecords": 0}))
    fake.route("POST", r"/accounts/[^/]+/(pay|refund)", _done)
    fake.route("GET", USERS, lambda request: Reply(200, user(request.path.rsplit("/", 1)[1])))
    return fake


def folio_target(server, **options) -> folio.FolioTarget:
    options.setdefault("token", "okapi-token")
    options.setdefault("timeout", 0.5)
    return folio.FolioTarget(
        url=server.url, tenant="diku", service_point_id=SERVICE_POINT, **options
    )
