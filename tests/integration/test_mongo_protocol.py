"""The MongoDB face over real sockets, driven by Debian's pymongo and by raw frames."""
import signal
import socket
import struct

import pymongo
import pytest
from bson import BSON
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure


def client(server, **kw):
    return pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000, **kw)


@pytest.fixture
def mongo(amalgamd):
    c = client(amalgamd)
    yield c
    c.close()


def test_handshake_presents_a_replica_set_primary(mongo, amalgamd):
    hello = mongo.admin.command("hello")
    assert hello["isWritablePrimary"] is True
    assert hello["minWireVersion"] == 0 and hello["maxWireVersion"] == 21
    assert hello["logicalSessionTimeoutMinutes"] == 30
    assert hello["me"] == f"127.0.0.1:{amalgamd.ports['mongo']}"
    assert mongo.server_info()["version"] == "7.0.0"
    rs = pymongo.MongoClient(f"mongodb://127.0.0.1:{amalgamd.ports['mongo']}/?replicaSet=amalgam",
                             serverSelectionTimeoutMS=5000)
    assert rs.admin.command("ping")["ok"] == 1.0
    assert rs.is_primary
    rs.close()


def test_unknown_command_is_command_not_found(mongo):
    with pytest.raises(OperationFailure) as e:
        mongo.test.command("frobnicate")
    assert e.value.code == 59
    assert e.value.details["codeName"] == "CommandNotFound"
    assert "no such command: 'frobnicate'" in e.value.details["errmsg"]


def test_diagnostic_commands_answer(mongo):
    for cmd in ["buildInfo", "hostInfo", "connectionStatus", "whatsmyuri", "serverStatus", "listCommands"]:
        assert mongo.admin.command(cmd)["ok"] == 1.0, cmd
    assert mongo.admin.command("getParameter", 1, featureCompatibilityVersion=1)[
        "featureCompatibilityVersion"]["version"] == "7.0"
    assert mongo.admin.command("getLog", "startupWarnings")["log"] == []
    assert "argv" in mongo.admin.command("getCmdLineOpts")


def test_insert_generates_ids_and_reports_duplicates(mongo):
    coll = mongo.test.people
    oid = coll.insert_one({"name": "ada"}).inserted_id
    assert oid is not None
    coll.insert_many([{"_id": 1}, {"_id": 2}])
    with pytest.raises(DuplicateKeyError) as e:
        coll.insert_one({"_id": 1})
    assert "E11000 duplicate key error collection: test.people index: _id_" in str(e.value)
    assert e.value.details["keyPattern"] == {"_id": 1} and e.value.details["keyValue"] == {"_id": 1}
    with pytest.raises(BulkWriteError) as e:
        coll.insert_many([{"_id": 3}, {"_id": 2}, {"_id": 4}], ordered=False)
    details = e.value.details
    assert details["nInserted"] == 2
    assert [(w["index"], w["code"]) for w in details["writeErrors"]] == [(1, 11000)]
    assert mongo.test.command("validate", "people")["nrecords"] == 5


def test_unique_index_and_index_lifecycle(mongo):
    coll = mongo.test.users
    coll.insert_many([{"email": "a@x"}, {"email": "b@x"}])
    assert coll.create_index("email", unique=True) == "email_1"
    with pytest.raises(DuplicateKeyError) as e:
        coll.insert_one({"email": "a@x"})
    assert "index: email_1 dup key" in str(e.value)
    assert e.value.details["keyPattern"] == {"email": 1} and e.value.details["keyValue"] == {"email": "a@x"}
    names = [ix["name"] for ix in coll.list_indexes()]
    assert names == ["_id_", "email_1"]
    with pytest.raises(OperationFailure) as e:
        coll.create_index([("email", "text")])
    assert e.value.code == 67
    coll.drop_index("email_1")
    assert [ix["name"] for ix in coll.list_indexes()] == ["_id_"]
    result = mongo.test.command("validate", "users")
    assert result["valid"] is True


def test_collections_create_rename_drop(mongo):
    db = mongo.shop
    db.create_collection("orders")
    with pytest.raises(OperationFailure) as e:
        db.command("create", "orders")
    assert e.value.code == 48 and e.value.details["codeName"] == "NamespaceExists"
    db.orders.insert_one({"x": 1})
    mongo.admin.command("renameCollection", "shop.orders", to="shop.archive")
    assert db.list_collection_names() == ["archive"]
    assert "shop" in mongo.list_database_names()
    db.drop_collection("archive")
    db.drop_collection("archive")  # dropping a missing collection is not an error
    assert db.list_collection_names() == []


def raw_roundtrip(port, payload, timeout=5):
    """Sends raw bytes; returns what the server answers before closing (b'' if it closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        chunks = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if len(b"".join(chunks)) >= 16:
                    length = struct.unpack("<i", b"".join(chunks)[:4])[0]
                    if len(b"".join(chunks)) >= length:
                        break
        except socket.timeout:
            pass
        return b"".join(chunks)


def op_msg(doc, request_id=1):
    body = struct.pack("<I", 0) + b"\x00" + BSON.encode(doc)
    return struct.pack("<iiii", 16 + len(body), request_id, 0, 2013) + body


def test_bad_frames_close_that_connection_and_the_server_keeps_serving(mongo, amalgamd):
    port = amalgamd.ports["mongo"]
    # A length below the header and one above 48 MB: closed without an answer.
    assert raw_roundtrip(port, struct.pack("<iiii", 8, 1, 0, 2013)) == b""
    assert raw_roundtrip(port, struct.pack("<iiii", 60_000_000, 1, 0, 2013)) == b""
    # Unknown opcode: closed.
    assert raw_roundtrip(port, struct.pack("<iiii", 20, 1, 0, 9999) + b"\x00" * 4) == b""
    # A sound frame with invalid BSON inside: an error reply, connection usable.
    good = op_msg({"ping": 1, "$db": "admin"})
    broken = bytearray(good)
    broken[21] = 0xFF  # the body's length field
    reply = raw_roundtrip(port, bytes(broken))
    assert len(reply) > 21
    doc = BSON(reply[21:]).decode()
    assert doc["ok"] == 0.0 and doc["code"] in (2, 22)
    # A client that disconnects mid-message.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(good[:10])
    # Everyone else is still served.
    assert mongo.admin.command("ping")["ok"] == 1.0
    reply = raw_roundtrip(port, good)
    assert BSON(reply[21:]).decode()["ok"] == 1.0


def test_acknowledged_inserts_survive_kill_9(start_amalgamd):
    first = start_amalgamd()
    c = client(first)
    c.test.durable.insert_many([{"_id": i, "v": "x" * 100} for i in range(500)])
    c.close()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    first.ports_path.unlink()  # left behind by the killed server; the new one rewrites it when ready
    second = start_amalgamd(data_dir=first.data_dir)
    c = client(second)
    result = c.test.command("validate", "durable")
    assert result["nrecords"] == 500 and result["valid"] is True
    c.close()


def test_pipelined_messages_in_one_write_are_all_answered(amalgamd):
    """Two complete messages and the start of a third arrive in one write, the rest later: the
    listener's buffer must hand each message over whole and in order."""
    port = amalgamd.ports["mongo"]
    first = op_msg({"ping": 1, "$db": "admin"}, request_id=11)
    second = op_msg({"hello": 1, "$db": "admin"}, request_id=12)
    third = op_msg({"buildInfo": 1, "$db": "admin"}, request_id=13)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(first + second + third[:7])
        s.sendall(third[7:])
        data = b""
        replies = []
        while len(replies) < 3:
            chunk = s.recv(65536)
            assert chunk, "connection closed before three replies"
            data += chunk
            while len(data) >= 16 and len(data) >= struct.unpack("<i", data[:4])[0]:
                length, _, response_to, _ = struct.unpack("<iiii", data[:16])
                replies.append((response_to, BSON(data[21:length]).decode()))
                data = data[length:]
    assert [r[0] for r in replies] == [11, 12, 13]
    assert all(doc["ok"] == 1.0 for _, doc in replies)
    assert replies[1][1]["isWritablePrimary"] is True and "version" in replies[2][1]


def test_fsync_flushes_and_refuses_lock(mongo, amalgamd):
    mongo.fsync_test.t.insert_many([{"_id": i, "x": "y" * 100} for i in range(1000)])
    assert mongo.admin.command("fsync")["numFiles"] == 1
    with pytest.raises(pymongo.errors.OperationFailure) as err:
        mongo.admin.command("fsync", lock=True)
    assert err.value.code == 20 and "lock" in str(err.value)
    with pytest.raises(pymongo.errors.OperationFailure) as err:
        mongo.fsync_test.command("fsync")  # admin only, as in MongoDB
    assert err.value.code == 13
    assert mongo.fsync_test.t.count_documents({}) == 1000
