"""The log format of every long-running entry point: JSON lines on stdout (one object per record).

`ragqa serve` and the Docker image write the ingest run and the service into one stream that a log
collector reads line by line; uvicorn's own lines are reformatted and moved there too.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> None:
    """JSON lines on stdout for ragqa's loggers; uvicorn's own lines reformatted and moved to stdout, its access
    line replaced by ours (app.api.request_log)."""
    formatter = JsonLinesFormatter()
    ragqa = logging.getLogger("ragqa")
    if not any(isinstance(h.formatter, JsonLinesFormatter) for h in ragqa.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(formatter)
        ragqa.addHandler(handler)
    ragqa.setLevel(level)
    ragqa.propagate = False
    # Module loggers (logging.getLogger(__name__)) log through ragqa's handler.
    for module_logger in ("core", "index", "ingest", "app", "cli"):
        logger = logging.getLogger(module_logger)
        logger.handlers = ragqa.handlers
        logger.setLevel(level)
        logger.propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(formatter)
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr:
                handler.setStream(sys.stdout)
    logging.getLogger("uvicorn.access").disabled = True


# uvicorn's logging from its first line (`uvicorn.run(..., log_config=UVICORN_LOG_CONFIG)`), before the app
# configures the rest: its lines as JSON on stdout, its access line off (app.api.request_log writes one).
UVICORN_LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonLinesFormatter}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {"uvicorn": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
                "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": False}},
}


def log_line(logger: str, level: str, message: str, **fields) -> None:
    """One line in this format, for a process that has not configured logging (`ragqa serve` before the server)."""
    line = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "level": level, "logger": logger,
            "message": message, **fields}
    print(json.dumps(line, ensure_ascii=False), flush=True)
