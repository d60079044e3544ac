"""Prometheus metrics at `GET /metrics`: requests and latency per route, tokens, abstentions, queue depth, index size.

Request counts and latencies are recorded by an ASGI middleware and labelled with the route's
template (`/documents/{document_id}`), never the raw path, so label values stay few. What the
answer path counts in `core/counters.py`: answers and abstentions (`record_answer`), and the generation queue the
tokens of every batch (`record_tokens`). Queue depth and index size are read from the loaded
services when Prometheus scrapes, so they are never stale.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.counters import ANSWER_REGISTRY

# Seconds; generation on a CPU takes seconds, /healthz takes microseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
UNMATCHED = "unmatched"  # requests no route took (404s, bodies refused before routing)


class ServiceCollector(Collector):
    """Gauges read from the services at scrape time: readiness, index size, generation queue depth."""

    def __init__(self, app) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        loader = getattr(self.app.state, "loader", None)
        services = getattr(loader, "services", None)
        yield GaugeMetricFamily("ragqa_ready", "1 once the index and the models are loaded.", 0 if services is None else 1)
        documents = chunks = depth = generating = 0
        if services is not None:
            documents = len(services.index.store.manifest())
            chunks = len(services.index.vectors)
            queue = services.queue
            depth, generating = queue.depth, queue.running
        yield GaugeMetricFamily("ragqa_index_documents", "Documents in the index being served.", documents)
        yield GaugeMetricFamily("ragqa_index_chunks", "Chunks (passages) in the index being served.", chunks)
        yield GaugeMetricFamily("ragqa_queue_depth", "Questions waiting for the language model.", depth)
        yield GaugeMetricFamily("ragqa_generating", "Questions being generated now (the current batch).", generating)


class RequestMetrics:
    """ASGI middleware: one count and one latency observation per HTTP request, labelled by route template."""

    def __init__(self, app, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("ragqa_http_requests", "HTTP requests, by method, route and status.",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("ragqa_http_request_duration_seconds",
                                 "Time from request to the end of the response, by method and route.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED  # set by the router once matched
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def install_metrics(app) -> None:
    """Add the request middleware and the service gauges to `app`; `metrics_router` serves them."""
    registry = CollectorRegistry()
    registry.register(ServiceCollector(app))
    app.state.metrics_registry = registry
    app.add_middleware(RequestMetrics, registry=registry)


metrics_router = APIRouter(tags=["metrics"])


@metrics_router.get("/metrics", response_class=Response,
                    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency per route, tokens generated, abstentions, queue depth, index size."""
    body = generate_latest(request.app.state.metrics_registry) + generate_latest(ANSWER_REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
