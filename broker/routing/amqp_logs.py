"""aio-pika and aiormq report a lost RabbitMQ connection loudly: a warning with a traceback when the reader
stops, an ERROR per reconnect attempt ("error when creating transport") and one per robust channel whose
close callback fails. For a broker these are one expected event, an outage of the message queue: this
filter turns them into counts in the queue's outage log (the first one logged, then a summary) and drops
the records. Anything else those libraries log passes unchanged.
"""

from __future__ import annotations

import logging

from broker import outage_log

_CONNECTION_LOGGERS = ("aiormq.connection", "aio_pika.robust_connection", "aio_pika.connection")
_CALLBACK_LOGGER = "aio_pika.tools"
_CONNECTION_WORDS = ("connect", "closed", "reader exited", "reconnect", "transport")
_MAX_DESCRIPTION = 200


class _ConnectionLossFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        text = record.getMessage()
        lowered = text.lower()
        if record.name == _CALLBACK_LOGGER:
            if "_on_close" not in text and "Robust" not in text:
                return True
        elif not any(word in lowered for word in _CONNECTION_WORDS):
            return True
        first_line = (text.strip().splitlines() or [""])[0][:_MAX_DESCRIPTION]
        outage_log.QUEUE.failed(first_line)
        return False


_FILTER = _ConnectionLossFilter()


def summarise_connection_losses() -> None:
    """Install the filter on aio-pika's and aiormq's loggers (idempotent)."""
    for name in (*_CONNECTION_LOGGERS, _CALLBACK_LOGGER):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
