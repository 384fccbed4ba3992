"""Start-up, the ports file, and shutdown on SIGTERM/SIGINT."""
import http.client
import json
import re
import signal
import socket
import time

from conftest import Server


def test_logs_each_listener_with_its_port_then_ready(amalgamd):
    log = amalgamd.log()
    assert f"I server: http listening on 127.0.0.1:{amalgamd.http_port}\n" in log
    assert log.index("http listening") < log.index("I server: ready")


def test_ports_file_is_json_with_the_bound_ports(amalgamd):
    ports = json.loads(amalgamd.ports_path.read_text())
    assert set(ports) >= {"http"}
    for name, port in ports.items():
        assert isinstance(port, int) and 0 < port < 65536, (name, port)
    assert not (amalgamd.data_dir / "amalgamd.ports.tmp").exists()


def test_creates_a_missing_nested_data_dir(start_amalgamd, tmp_path):
    server = start_amalgamd(data_dir=tmp_path / "a" / "b" / "c")
    assert server.ports_path.exists()


def test_sigterm_exits_0_and_removes_the_ports_file(start_amalgamd):
    server = start_amalgamd()
    assert server.stop(signal.SIGTERM) == 0
    log = server.log()
    assert "I server: shutting down" in log
    assert log.index("I server: ready") < log.index("I server: shutting down")
    assert not server.ports_path.exists()


def test_sigint_exits_0(start_amalgamd):
    server = start_amalgamd()
    assert server.stop(signal.SIGINT) == 0
    assert "I server: shutting down" in server.log()


def test_sigterm_closes_idle_keep_alive_connections_promptly(start_amalgamd):
    server = start_amalgamd()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("GET", "/health")
    assert conn.getresponse().read() == b'{"status":"ok"}'
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    # The idle connection must not hold shutdown for the drain timeout (5 s).
    assert time.monotonic() - started < 3
    assert conn.sock.recv(1) == b""  # closed by the server
    conn.close()


def test_request_arriving_during_shutdown_is_answered_or_refused_never_hung(start_amalgamd):
    server = start_amalgamd()
    conns = [socket.create_connection(("127.0.0.1", server.http_port), timeout=10)
             for _ in range(4)]
    server.proc.send_signal(signal.SIGTERM)
    for s in conns:
        try:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = s.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            reply = b""
        assert reply == b"" or reply.startswith(b"HTTP/1.1 200"), reply
        s.close()
    assert server.stop() == 0


def test_port_in_use_exits_1_with_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(tmp_path / "data", ["--data-dir", str(tmp_path / "data"),
                                            "--http-port", str(port)])
        assert server.proc.wait(timeout=20) == 1
        server.kill()
    log = server.log()
    assert re.search(rf"E server: cannot listen for http on 127\.0\.0\.1:{port}: "
                     r"Address already in use", log), log
    assert not server.ports_path.exists()


def test_unusable_data_dir_exits_1(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    server = Server(not_a_dir, ["--data-dir", str(not_a_dir), "--http-port", "0"])
    assert server.proc.wait(timeout=20) == 1
    server.kill()
    assert "cannot create data directory" in server.log()


def test_two_servers_with_port_0_get_different_ports(start_amalgamd):
    a = start_amalgamd()
    b = start_amalgamd()
    assert a.http_port != b.http_port


def test_request_in_flight_at_sigterm_is_answered_then_closed(start_amalgamd):
    server = start_amalgamd()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # half a request: in flight
        time.sleep(0.5)  # let the server read it (no other way to observe that from outside)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        assert server.proc.poll() is None, "exited with a request in flight"
        s.sendall(b"\r\n")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert b"Connection: close" in reply
    assert reply.endswith(b'{"status":"ok"}')
    assert server.stop() == 0
    assert "I server: shutting down" in server.log()


def test_second_server_on_the_same_data_dir_is_refused(start_amalgamd):
    first = start_amalgamd()
    second = start_amalgamd(data_dir=first.data_dir, wait=False)
    assert second.proc.wait(timeout=30) == 1
    log = second.log()
    assert f"is in use by another amalgamd (pid {first.pid})" in log, log
    assert first.proc.poll() is None  # the first one keeps serving


def test_restart_on_the_same_data_dir_recovers(start_amalgamd):
    first = start_amalgamd()
    assert first.stop() == 0
    second = start_amalgamd(data_dir=first.data_dir)
    assert "opened" in second.log()


def test_sigterm_with_open_cursors_exits_0(start_amalgamd):
    import pymongo
    server = start_amalgamd()
    c = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    c.t.c.insert_many([{"_id": i} for i in range(10)])
    cursor = c.t.c.find(batch_size=2)
    next(cursor)  # leaves a server-side cursor open
    assert server.stop() == 0, server.log()
    c.close()


def test_sigterm_with_open_connections_on_every_io_thread_exits_0(start_amalgamd):
    # Connections are spread over the I/O threads (one io_context each); shutdown must tear
    # down every thread's parked connections, idle or half-way through a message, cleanly.
    for round_ in range(3):
        server = start_amalgamd()
        socks = []
        for name in ("mongo", "dynamo", "http"):
            for k in range(4):
                s = socket.create_connection(("127.0.0.1", server.ports[name]), timeout=5)
                if k % 2:
                    s.sendall(b"\x10\x00")  # the start of a message that never completes
                socks.append(s)
        time.sleep(0.05 * round_)
        assert server.stop(signal.SIGTERM) == 0, server.log()
        for s in socks:
            s.close()


def test_sigterm_during_a_describe_table_recount_exits_0(start_amalgamd):
    # DescribeTable counts a large table in a background thread; shutdown must stop that
    # thread before the engine closes, never close the engine under a running count.
    import pymongo
    from conftest import dynamo_client
    server = start_amalgamd()
    ddb = dynamo_client(server)
    ddb.create_table(TableName="Big", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    mongo = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    coll = mongo.dynamodb.Big  # the same rows through the MongoDB face (docs/dynamodb-mapping.md)
    for start in range(0, 300000, 10000):
        coll.insert_many([{"_id": f"k{i:07d}", "pk": f"k{i:07d}", "pad": "p" * 64}
                          for i in range(start, start + 10000)], ordered=False)
    mongo.close()
    # The first description counts a bounded prefix and leaves the rest to the background.
    assert 0 < ddb.describe_table(TableName="Big")["Table"]["ItemCount"] <= 300000
    assert server.stop(signal.SIGTERM) == 0, server.log()
