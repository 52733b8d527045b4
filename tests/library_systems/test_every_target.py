"""What every adapter that books fees refuses before it writes anything."""

import dataclasses

import pytest

from payments.library_systems.base import PermanentError
from tests.library_systems import test_aleph, test_alma, test_folio, test_koha
from tests.library_systems.fake_server import FakeServer


@pytest.mark.parametrize(
    "vendor",
    [test_koha, test_folio, test_alma, test_aleph],
    ids=lambda module: module.__name__.rsplit("_", 1)[-1],
)
def test_fee_shares_exceeding_the_amount_are_permanent_and_send_nothing(vendor):
    short = dataclasses.replace(vendor.PAYMENT, amount_cents=2000)  # its fee shares are 20.09

    with (
        FakeServer() as server,
        pytest.raises(PermanentError, match="fee shares exceed its amount"),
    ):
        vendor._target(server).deliver(short)

    assert server.requests == []
