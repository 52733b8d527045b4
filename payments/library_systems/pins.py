"""Card number and PIN checked by the library system: the sign-in side of the targets.

A target that can check a PIN (`PinCheckingTarget`) asks its system whether the card and
the PIN belong together and answers with the patron's id there, the id its read side
(`reading.ReadingTarget.read_account`) knows the patron by. The PIN is passed on in the
request body or a header, never in a URL (URLs end up in logs), and is never kept.

A wrong PIN and an unknown card are one answer, `PinRefused`: the library system does not
always tell them apart, and the portal must not tell a stranger which card numbers exist.
A system that is down, slow or answers something unreadable raises TransientError,
PermanentError or MalformedAnswer as for reads: the patron is told that the PIN cannot be
checked right now, and no failed attempt is counted.
"""

from typing import Protocol


class PinRefused(Exception):
    """The library system says the card and the PIN do not belong together."""


class PinCheckingTarget(Protocol):
    name: str

    def check_pin(self, card_number: str, pin: str) -> str:
        """The patron's id in the library system. Raise PinRefused when the card is
        unknown or the PIN wrong; TransientError, PermanentError or MalformedAnswer when
        the system could not say."""
        ...
