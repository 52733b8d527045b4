"""The patron's pages at the fake PayPal: where the approval link leads (for browser tests).
Approving sends the patron back to the order's return URL with PayPal's token and PayerID,
cancelling to its cancel URL, as PayPal does."""

from urllib.parse import urlencode

from tests.library_systems.fake_server import Reply, Request


def approval_page(fake, request: Request) -> Reply:
    token = request.arg("token") or ""
    if token not in fake.orders:
        return Reply(404, "No such order")
    page = (
        "<!doctype html><html lang='en'><head><title>PayPal (fake)</title></head><body>"
        f"<h1>Pay {fake.orders[token]['purchase_units'][0]['amount']['value']}</h1>"
        f"<form method='post' action='/checkoutnow?token={token}'>"
        "<button name='action' value='approve'>Pay Now</button>"
        "<button name='action' value='cancel'>Cancel and return</button></form></body></html>"
    )
    return Reply(200, page, headers={"Content-Type": "text/html; charset=utf-8"})


def approve_from_page(fake, request: Request) -> Reply:
    token = request.arg("token") or ""
    order = fake.orders.get(token)
    if order is None:
        return Reply(404, "No such order")
    context = order["_context"]
    if request.form().get("action") == ["cancel"]:
        target = f"{context.get('cancel_url', '')}?{urlencode({'token': token})}"
    else:
        fake.approve(token)
        query = urlencode({"token": token, "PayerID": order["payer"]["payer_id"]})
        target = f"{context.get('return_url', '')}?{query}"
    return Reply(302, "", headers={"Location": target})
