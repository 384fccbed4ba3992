"""A minimal OP_MSG client for tests that must choose lsid / txnNumber themselves (pymongo
always overrides them with its own session)."""
import socket
import struct
import uuid

from bson import BSON, Binary, Int64


def new_lsid():
    return {"id": Binary(uuid.uuid4().bytes, 4)}


class RawClient:
    """One connection; cmd() sends one command and returns the reply document."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.request_id = 0

    def cmd(self, db, command, **fields):
        doc = dict(command)
        doc.update(fields)
        doc["$db"] = db
        self.request_id += 1
        body = struct.pack("<I", 0) + b"\x00" + BSON.encode(doc)
        self.sock.sendall(struct.pack("<iiii", 16 + len(body), self.request_id, 0, 2013) + body)
        header = self._read(16)
        length = struct.unpack("<i", header[:4])[0]
        rest = self._read(length - 16)
        assert rest[4] == 0, "expected a kind-0 section"
        return BSON(rest[5:]).decode()

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("server closed the connection")
            out += chunk
        return out

    def close(self):
        self.sock.close()


def txn_fields(lsid, txn_number, start=False):
    f = {"lsid": lsid, "txnNumber": Int64(txn_number), "autocommit": False}
    if start:
        f["startTransaction"] = True
    return f


def without_times(reply):
    """The reply without the fields that change on every answer."""
    return {k: v for k, v in reply.items() if k not in ("$clusterTime", "operationTime")}
