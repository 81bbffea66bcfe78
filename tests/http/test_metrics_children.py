"""The broker's counters count each request and status change once, through the children it keeps."""

from __future__ import annotations

import pytest

from broker.http import metrics as metrics_module
from broker.http.metrics import BrokerMetrics


def _sample(metrics: BrokerMetrics, name: str, labels: dict[str, str]) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_requests_and_statuses_are_counted_per_label_set() -> None:
    metrics = BrokerMetrics()
    for status in (201, 201, 400):
        metrics.http_request("POST", "/api/v1/messages", status, 0.003)
    metrics.http_request("GET", "/api/v1/messages", 200, 0.2)
    metrics.message_status("pantedokument", "accepted")
    metrics.message_status("pantedokument", "accepted")
    metrics.message_status("pantedokument", "delivered")
    post = {"method": "POST", "route": "/api/v1/messages"}
    assert _sample(metrics, "dsve_http_requests_total", {**post, "status": "201"}) == 2
    assert _sample(metrics, "dsve_http_requests_total", {**post, "status": "400"}) == 1
    assert _sample(metrics, "dsve_http_request_duration_seconds_count", post) == 3
    assert _sample(metrics, "dsve_http_request_duration_seconds_bucket", {**post, "le": "0.005"}) == 3
    get = {"method": "GET", "route": "/api/v1/messages"}
    assert _sample(metrics, "dsve_http_request_duration_seconds_bucket", {**get, "le": "0.1"}) == 0
    assert _sample(metrics, "dsve_messages_total", {"message_type": "pantedokument", "status": "accepted"}) == 2
    assert _sample(metrics, "dsve_messages_total", {"message_type": "pantedokument", "status": "delivered"}) == 1


def test_counting_goes_on_when_the_kept_children_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = BrokerMetrics()
    monkeypatch.setattr(metrics_module, "_MAX_CACHED", 2)
    for method in ("A", "B", "C", "A", "A"):
        metrics.http_request(method, "/r", 200, 0.0)
    assert _sample(metrics, "dsve_http_requests_total", {"method": "A", "route": "/r", "status": "200"}) == 3
    assert _sample(metrics, "dsve_http_requests_total", {"method": "C", "route": "/r", "status": "200"}) == 1
