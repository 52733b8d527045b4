"""The console log: each line printed once."""

import logging


def console_handlers_reached_from(name: str) -> list[logging.Handler]:
    logger = logging.getLogger(name)
    reached = []
    while logger is not None:
        reached += [
            handler for handler in logger.handlers if type(handler) is logging.StreamHandler
        ]
        if not logger.propagate:
            break
        logger = logger.parent
    return reached


def test_a_line_of_djangos_request_log_reaches_one_console_handler():
    assert len(console_handlers_reached_from("django.request")) == 1


def test_a_line_of_the_portals_own_log_reaches_one_console_handler():
    assert len(console_handlers_reached_from("payments.services.orders")) == 1
