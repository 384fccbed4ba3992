"""The health and metrics HTTP port."""
import http.client
import json
import re
import socket

import pytest


def request(port, method, path, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read().decode()
    if own:
        conn.close()
    return resp, body


def metric_value(text, series):
    """The value of one series line, e.g. 'amalgam_http_requests_total{code="200"}'."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    raise AssertionError(f"no series {series} in:\n{text}")


def test_health_is_ok_json(amalgamd):
    resp, body = request(amalgamd.http_port, "GET", "/health")
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {"status": "ok"}


def test_metrics_is_prometheus_text(amalgamd):
    resp, body = request(amalgamd.http_port, "GET", "/metrics")
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    assert "# TYPE amalgam_uptime_seconds gauge" in body
    assert metric_value(body, "amalgam_uptime_seconds") >= 0
    assert re.search(r'^amalgam_build_info\{version="[^"]+"\} 1$', body, re.M), body
    assert "# TYPE amalgam_http_requests_total counter" in body
    # Every sample line is "name{labels} value" or "name value".
    for line in body.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+', line), line


def test_requests_are_counted_by_status_code(amalgamd):
    port = amalgamd.http_port
    for _ in range(3):
        request(port, "GET", "/health")
    request(port, "GET", "/nope")
    _, body = request(port, "GET", "/metrics")
    assert metric_value(body, 'amalgam_http_requests_total{code="200"}') == 3
    assert metric_value(body, 'amalgam_http_requests_total{code="404"}') == 1


@pytest.mark.parametrize("path", ["/", "/nope", "/health/x", "/metricsx"])
def test_unknown_path_is_404(amalgamd, path):
    resp, _ = request(amalgamd.http_port, "GET", path)
    assert resp.status == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_other_methods_are_405(amalgamd, method, path):
    resp, _ = request(amalgamd.http_port, method, path)
    assert resp.status == 405
    assert resp.getheader("Allow") == "GET"


def test_query_string_is_ignored(amalgamd):
    resp, _ = request(amalgamd.http_port, "GET", "/health?verbose=1")
    assert resp.status == 200


def test_keep_alive_serves_many_requests_on_one_connection(amalgamd):
    conn = http.client.HTTPConnection("127.0.0.1", amalgamd.http_port, timeout=10)
    conn.connect()
    sock = conn.sock
    for path in ["/health", "/metrics", "/nope", "/health"]:
        resp, _ = request(None, "GET", path, conn=conn)
        assert resp.getheader("Connection", "").lower() != "close"
    assert conn.sock is sock, "the server closed a keep-alive connection"
    _, body = request(None, "GET", "/metrics", conn=conn)
    assert metric_value(body, "amalgam_http_open_connections") == 1
    conn.close()


def test_garbage_request_gets_400_and_server_goes_on(amalgamd):
    reply = raw_exchange(amalgamd.http_port, b"NOT AN HTTP REQUEST\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400"), reply
    resp, _ = request(amalgamd.http_port, "GET", "/health")
    assert resp.status == 200


def raw_exchange(port, data):
    """Sends raw bytes, returns everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return reply


def test_oversized_body_gets_413_and_close(amalgamd):
    # Announced, not sent: the server must refuse from the header alone.
    reply = raw_exchange(amalgamd.http_port,
                         b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413"), reply
    assert b"Connection: close" in reply


def test_oversized_headers_get_431(amalgamd):
    reply = raw_exchange(amalgamd.http_port,
                         b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 431"), reply


def test_http_1_0_without_keep_alive_is_closed_after_reply(amalgamd):
    reply = raw_exchange(amalgamd.http_port, b"GET /health HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.0 200"), reply
    assert reply.endswith(b'{"status":"ok"}')
