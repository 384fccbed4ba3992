"""Fixtures that run the real amalgamd binary.

`amalgamd` starts build/src/server/amalgamd (or $AMALGAMD) on 127.0.0.1 with port 0 for every
port and a fresh data directory, waits for DIR/amalgamd.ports, and yields a Server. On teardown it
SIGTERMs the process it started (SIGKILL after a timeout) and asserts a clean exit (code 0).
`start_amalgamd` is the factory behind it, for tests that need extra arguments.
"""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("AMALGAMD", REPO / "build" / "src" / "server" / "amalgamd"))
READY_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15


def run_amalgamd(*args, timeout=30):
    """Runs amalgamd to completion (for --help, bad options...). Returns CompletedProcess."""
    return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class Server:
    """One running amalgamd process that this test started."""

    def __init__(self, data_dir, args, log_path=None):
        self.data_dir = pathlib.Path(data_dir)
        self.log_path = pathlib.Path(log_path or f"{self.data_dir}.log")
        self._log = open(self.log_path, "wb")
        # A server killed with SIGKILL leaves its ports file behind: wait_ready must not take it
        # for the new process's.
        try:
            (self.data_dir / "amalgamd.ports").unlink(missing_ok=True)
        except OSError:
            pass  # the data dir is not a directory: the test expects amalgamd to refuse it
        self.proc = subprocess.Popen([str(BINARY), *args], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.ports = {}

    @property
    def pid(self):
        return self.proc.pid

    @property
    def http_port(self):
        return self.ports["http"]

    @property
    def ports_path(self):
        return self.data_dir / "amalgamd.ports"

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Waits for the ports file; fails early (with the log) if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ports_path.exists():
                self.ports = json.loads(self.ports_path.read_text())
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"amalgamd exited with {self.proc.returncode} before it was ready:\n"
                            f"{self.log()}")
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"amalgamd was not ready within {timeout}s:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends `sig` to our own process only; SIGKILLs after `timeout`. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"amalgamd did not exit within {timeout}s of {sig!r}:\n{self.log()}")
        self._log.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def start_amalgamd(tmp_path):
    """Factory: start_amalgamd(*extra_args, wait=True) -> Server. Every server it started and the
    test left running is stopped with SIGTERM at teardown, and must exit 0."""
    started = []

    def start(*extra_args, wait=True, data_dir=None):
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is missing: run scripts/build.sh amalgamd first")
        data_dir = pathlib.Path(data_dir or tmp_path / f"data{len(started)}")
        args = ["--data-dir", str(data_dir), "--bind", "127.0.0.1", "--http-port", "0",
                "--mongo-port", "0", "--dynamo-port", "0", *extra_args]
        server = Server(data_dir, args, log_path=tmp_path / f"amalgamd{len(started)}.log")
        started.append(server)
        if wait:
            server.wait_ready()
        return server

    yield start
    failures = []
    for server in started:
        if server.proc.poll() is None:
            code = server.stop()
            if code != 0:
                failures.append(f"pid {server.pid} exited with {code}:\n{server.log()}")
        else:
            server.kill()  # closes the log file
    assert not failures, "\n".join(failures)


@pytest.fixture
def amalgamd(start_amalgamd):
    """A ready amalgamd with every port chosen by the kernel."""
    return start_amalgamd()


@pytest.fixture
def client(amalgamd):
    """A pymongo client of the `amalgamd` server (files with their own connection options
    define their own `client`)."""
    import pymongo
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    yield c
    c.close()


def dynamo_client(server, **config):
    """A boto3 DynamoDB client for `server`'s DynamoDB port (dummy credentials, no retries, so a
    server error shows as itself)."""
    import boto3
    from botocore.config import Config
    return boto3.client(
        "dynamodb", endpoint_url=f"http://127.0.0.1:{server.ports['dynamo']}",
        region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                      read_timeout=30, **config))


@pytest.fixture
def dynamo(amalgamd):
    """A boto3 DynamoDB client pointed at a fresh amalgamd's DynamoDB port."""
    return dynamo_client(amalgamd)


def dynamo_request(server, op, payload):
    """Sends one DynamoDB JSON request over raw HTTP (for parameters newer than Debian's
    botocore knows). Returns (status, parsed JSON body)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.ports["dynamo"], timeout=30)
    try:
        conn.request("POST", "/", body=json.dumps(payload), headers={
            "X-Amz-Target": f"DynamoDB_20120810.{op}", "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Date": "20240101T000000Z",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/dynamodb/"
                             "aws4_request, SignedHeaders=host;x-amz-date, Signature=00"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()
