"""The DynamoDB port's HTTP envelope: framing, headers, compression, errors (raw HTTP, plus boto3)."""
import gzip
import http.client
import json
import zlib

import pytest
from botocore.exceptions import ClientError

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef")


def post(server, op, body, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.ports["dynamo"], timeout=10)
    h = {"X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0",
         "Authorization": AUTH, "X-Amz-Date": "20240101T000000Z"}
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    conn.request("POST", "/", body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    if own:
        conn.close()
    return resp, data


def error_type(data):
    return json.loads(data)["__type"].split("#")[-1]


def test_success_has_request_id_and_crc32(amalgamd):
    resp, data = post(amalgamd, "ListTables", b"{}")
    assert resp.status == 200
    assert json.loads(data) == {"TableNames": []}
    assert resp.getheader("Content-Type") == "application/x-amz-json-1.0"
    assert len(resp.getheader("x-amzn-RequestId")) == 52
    assert int(resp.getheader("x-amz-crc32")) == zlib.crc32(data)


def test_errors_have_crc32_and_dynamodb_types(amalgamd):
    resp, data = post(amalgamd, "Frobnicate", b"{}")
    assert resp.status == 400
    assert int(resp.getheader("x-amz-crc32")) == zlib.crc32(data)
    body = json.loads(data)
    assert body["__type"] == "com.amazon.coral.service#UnknownOperationException"
    resp, data = post(amalgamd, "ListTables", b"{not json")
    assert resp.status == 400 and error_type(data) == "SerializationException"
    resp, data = post(amalgamd, "ListTables", b"{}", {"Authorization": None})
    assert resp.status == 400 and error_type(data) == "MissingAuthenticationTokenException"
    assert json.loads(data)["message"] == "Request is missing Authentication Token"
    resp, data = post(amalgamd, "ListTables", b"{}", {"Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    assert resp.status == 400 and error_type(data) == "IncompleteSignatureException"
    resp, data = post(amalgamd, "ListTables", b'{"Limit": "ten"}')
    assert resp.status == 400 and error_type(data) == "SerializationException"
    resp, data = post(amalgamd, "ListTables", b'{"Limit": 1000}')
    assert resp.status == 400 and error_type(data) == "ValidationException"
    assert "Member must have value less than or equal to 100" in json.loads(data)["message"]


def test_keep_alive_serves_many_requests_on_one_connection(amalgamd):
    conn = http.client.HTTPConnection("127.0.0.1", amalgamd.ports["dynamo"], timeout=10)
    for _ in range(50):
        resp, data = post(amalgamd, "ListTables", b"{}", conn=conn)
        assert resp.status == 200
    # An error does not close the connection either.
    resp, data = post(amalgamd, "ListTables", b"[[[", conn=conn)
    assert resp.status == 400
    resp, data = post(amalgamd, "ListTables", b"{}", conn=conn)
    assert resp.status == 200
    conn.close()


def test_gzip_and_deflate_bodies(amalgamd):
    body = json.dumps({"Limit": 3}).encode()
    resp, data = post(amalgamd, "ListTables", gzip.compress(body), {"Content-Encoding": "gzip"})
    assert resp.status == 200, data
    resp, data = post(amalgamd, "ListTables", zlib.compress(body), {"Content-Encoding": "deflate"})
    assert resp.status == 200, data
    resp, data = post(amalgamd, "ListTables", b"garbage", {"Content-Encoding": "gzip"})
    assert resp.status == 400 and error_type(data) == "SerializationException"


def test_amz_json_1_1_is_answered_in_kind(amalgamd):
    resp, data = post(amalgamd, "ListTables", b"{}", {"Content-Type": "application/x-amz-json-1.1"})
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "application/x-amz-json-1.1"


def test_oversized_body_is_413_and_server_keeps_serving(amalgamd):
    big = b'{"TableName":"' + b"x" * (17 * 1024 * 1024) + b'"}'
    try:
        resp, data = post(amalgamd, "DescribeTable", big)
        assert resp.status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close before the client finishes sending
    resp, data = post(amalgamd, "ListTables", b"{}")
    assert resp.status == 200


def test_deeply_nested_json_is_a_clear_400(amalgamd):
    resp, data = post(amalgamd, "ListTables", b"[" * 100000 + b"]" * 100000)
    assert resp.status == 400
    resp, data = post(amalgamd, "ListTables", b"{}")
    assert resp.status == 200


def test_get_is_a_health_line(amalgamd):
    conn = http.client.HTTPConnection("127.0.0.1", amalgamd.ports["dynamo"], timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read().startswith(b"healthy: dynamodb.")


def test_boto3_sees_error_codes(dynamo):
    with pytest.raises(ClientError) as e:
        dynamo.describe_table(TableName="missing")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_idle_keep_alive_connection_does_not_hold_shutdown(start_amalgamd):
    import time
    server = start_amalgamd()
    conn = http.client.HTTPConnection("127.0.0.1", server.ports["dynamo"], timeout=10)
    resp, data = post(server, "ListTables", b"{}", conn=conn)
    assert resp.status == 200
    t0 = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - t0 < 5
    conn.close()


def test_expect_100_continue(amalgamd):
    import socket
    body = b'{"Limit": 5}'
    s = socket.create_connection(("127.0.0.1", amalgamd.ports["dynamo"]), timeout=10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
              b"Content-Type: application/x-amz-json-1.0\r\nX-Amz-Date: 20240101T000000Z\r\n"
              b"Authorization: " + AUTH.encode() + b"\r\nExpect: 100-continue\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    interim = s.recv(4096)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    s.sendall(body)
    reply = b""
    while b'{"TableNames":[]}' not in reply:
        chunk = s.recv(4096)
        assert chunk
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    s.close()


def test_authorization_header_is_parsed_as_dynamodb_does(amalgamd):
    def auth_error(value, **extra):
        headers = {"Authorization": value}
        headers.update(extra)
        resp, data = post(amalgamd, "ListTables", b"{}", headers)
        assert resp.status == 400, data
        body = json.loads(data)
        return body["__type"], body["message"]

    typ, msg = auth_error(None)
    assert typ == "com.amazon.coral.service#MissingAuthenticationTokenException"
    assert msg == "Request is missing Authentication Token"
    assert auth_error("   ")[0].endswith("#MissingAuthenticationTokenException")
    # Another scheme: every SigV4 component is reported missing, with the header echoed.
    typ, msg = auth_error("Basic dXNlcjpwYXNz", **{"X-Amz-Date": None})
    assert typ == "com.amazon.coral.service#IncompleteSignatureException"
    assert msg == ("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
                   "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires "
                   "existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Basic dXNlcjpwYXNz")
    typ, msg = auth_error("AWS4-HMAC-SHA512 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00")
    assert typ.endswith("#IncompleteSignatureException") and msg == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"
    typ, msg = auth_error("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders, Signature=00")
    assert typ.endswith("#IncompleteSignatureException")
    assert msg.startswith("Invalid key=value pair (missing equal-sign) in Authorization header: 'SignedHeaders'")
    typ, msg = auth_error("AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1, SignedHeaders=host, Signature=00")
    assert typ.endswith("#IncompleteSignatureException")
    assert msg == ("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                   "got 'AKID/20240101/us-east-1'")
    typ, msg = auth_error("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00")
    assert msg.startswith("Authorization header requires 'Credential' parameter. Authorization=")
    typ, msg = auth_error(AUTH, **{"X-Amz-Date": None})
    assert msg.startswith("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    # X-Amz-Date must be in ISO 8601 basic format, as SigV4 signs it.
    for bad in ("1442252505", "Sun, 23 Nov 2014 04:07:43 GMT", "2024-01-01T00:00:00Z", "20240101T000000"):
        typ, msg = auth_error(AUTH, **{"X-Amz-Date": bad})
        assert typ == "com.amazon.coral.service#IncompleteSignatureException"
        assert msg == f"Date must be in ISO-8601 'basic format'. Got '{bad}'. See http://en.wikipedia.org/wiki/ISO_8601"
    # A well-formed header is accepted without checking the signature; a Date header will do.
    resp, _ = post(amalgamd, "ListTables", b"{}", {"X-Amz-Date": None, "Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert resp.status == 200
    resp, _ = post(amalgamd, "ListTables", b"{}", {"Authorization": "AWS4-HMAC-SHA256 Credential=k/d/r/s/aws4_request,"
                                                                    "SignedHeaders=host,Signature=ff"})
    assert resp.status == 200
