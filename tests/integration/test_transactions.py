"""Multi-document transactions and logical sessions through pymongo and raw OP_MSG commands."""
import threading
import time

import pymongo
import pytest
from bson import Int64, Timestamp
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from mongo_raw import RawClient, new_lsid, txn_fields, without_times


def client(server, **kw):
    return pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000, **kw)


@pytest.fixture
def mongo(amalgamd):
    c = client(amalgamd)
    yield c
    c.close()


@pytest.fixture
def raw(amalgamd):
    r = RawClient(amalgamd.ports["mongo"])
    yield r
    r.close()


def test_commit_publishes_writes_to_two_collections_at_once(mongo):
    db = mongo.txn
    db.create_collection("accounts")
    db.create_collection("ledger")
    db.accounts.insert_many([{"_id": "a", "bal": 100}, {"_id": "b", "bal": 0}])
    with mongo.start_session() as s:
        s.start_transaction()
        db.accounts.update_one({"_id": "a"}, {"$inc": {"bal": -30}}, session=s)
        db.accounts.update_one({"_id": "b"}, {"$inc": {"bal": 30}}, session=s)
        db.ledger.insert_one({"from": "a", "to": "b", "amount": 30}, session=s)
        # Inside: own writes are visible, to find, aggregate and distinct.
        assert db.accounts.find_one({"_id": "a"}, session=s)["bal"] == 70
        assert db.ledger.count_documents({}, session=s) == 1
        assert db.accounts.distinct("bal", session=s) == [30, 70]
        # Outside: nothing yet.
        assert db.accounts.find_one({"_id": "a"})["bal"] == 100
        assert db.ledger.count_documents({}) == 0
        s.commit_transaction()
    assert {d["_id"]: d["bal"] for d in db.accounts.find()} == {"a": 70, "b": 30}
    assert db.ledger.count_documents({}) == 1


def test_reads_in_a_transaction_see_one_stable_snapshot(mongo):
    db = mongo.txn
    db.c.insert_many([{"_id": i, "v": 0} for i in range(5)])
    with mongo.start_session() as s:
        s.start_transaction(read_concern=ReadConcern("snapshot"))
        assert db.c.find_one({"_id": 1}, session=s)["v"] == 0
        db.c.update_many({}, {"$set": {"v": 9}})  # a plain write, committed now
        db.c.insert_one({"_id": 99})
        assert [d["v"] for d in db.c.find({}, session=s)] == [0] * 5
        assert db.c.count_documents({}, session=s) == 5
        # Writing a document changed after the snapshot is a write conflict.
        with pytest.raises(OperationFailure) as e:
            db.c.update_one({"_id": 1}, {"$set": {"v": 1}}, session=s)
        assert e.value.code == 112
        assert e.value.has_error_label("TransientTransactionError")
        # The conflict aborted the transaction.
        with pytest.raises(OperationFailure) as e:
            s.commit_transaction()
        assert e.value.code == 251


def test_write_conflict_between_two_transactions(mongo):
    db = mongo.txn
    db.c.insert_one({"_id": 1, "v": 0})
    s1, s2 = mongo.start_session(), mongo.start_session()
    s1.start_transaction()
    s2.start_transaction()
    db.c.update_one({"_id": 1}, {"$inc": {"v": 1}}, session=s1)
    with pytest.raises(OperationFailure) as e:
        db.c.update_one({"_id": 1}, {"$inc": {"v": 10}}, session=s2)
    assert e.value.code == 112 and e.value.has_error_label("TransientTransactionError")
    s1.commit_transaction()
    with pytest.raises(OperationFailure):
        s2.commit_transaction()
    s1.end_session()
    s2.end_session()
    assert db.c.find_one({"_id": 1})["v"] == 1


def test_aborted_transaction_leaves_no_trace(mongo):
    db = mongo.txn
    db.c.create_index("k", unique=True)
    db.c.create_index("tag")
    db.c.insert_many([{"_id": i, "k": i, "tag": "old"} for i in range(10)])
    before_docs = list(db.c.find().sort("_id", 1))
    before_validate = db.command("validate", "c")
    with mongo.start_session() as s:
        s.start_transaction()
        db.c.insert_many([{"_id": 100 + i, "k": 100 + i, "tag": "new"} for i in range(20)], session=s)
        db.c.update_many({"_id": {"$lt": 5}}, {"$set": {"tag": "changed"}, "$inc": {"k": 1000}}, session=s)
        db.c.delete_many({"_id": {"$gte": 5, "$lt": 10}}, session=s)
        assert db.c.count_documents({}, session=s) == 25
        s.abort_transaction()
    assert list(db.c.find().sort("_id", 1)) == before_docs
    after_validate = db.command("validate", "c")
    assert after_validate["valid"] is True
    assert after_validate["keysPerIndex"] == before_validate["keysPerIndex"]
    assert list(db.c.find({"tag": "new"}).hint("tag_1")) == []
    assert list(db.c.find({"tag": "changed"}).hint("tag_1")) == []
    assert [d["_id"] for d in db.c.find({"k": {"$gte": 0}}).hint("k_1")] == list(range(10))
    # The unique index entries of the aborted inserts are gone: the keys are free again.
    db.c.insert_one({"_id": 100, "k": 100})


def increment_worker(mongo, n_ops, errors, counters):
    db = mongo.txn
    with mongo.start_session() as s:
        for _ in range(n_ops):
            deadline = time.monotonic() + 30
            while True:
                assert time.monotonic() < deadline, "transaction kept conflicting for 30 s"
                try:
                    s.start_transaction()
                    db.counters.update_one({"_id": "a"}, {"$inc": {"n": 1}}, session=s)
                    db.counters.update_one({"_id": "b"}, {"$inc": {"n": 2}}, session=s)
                    db.log.insert_one({"t": 1}, session=s)
                    s.commit_transaction()
                    counters["commits"] += 1
                    break
                except OperationFailure as e:
                    if s.in_transaction:
                        s.abort_transaction()
                    if not e.has_error_label("TransientTransactionError"):
                        errors.append(repr(e))
                        return
                    counters["retries"] += 1
                except PyMongoError as e:  # anything else is a failure of the test
                    errors.append(repr(e))
                    return


def test_concurrent_transactions_incrementing_shared_documents_end_exact(amalgamd):
    clients = [client(amalgamd) for _ in range(8)]
    try:
        db = clients[0].txn
        db.counters.insert_many([{"_id": "a", "n": 0}, {"_id": "b", "n": 0}])
        db.create_collection("log")
        n_ops = 25
        errors, counters = [], {"commits": 0, "retries": 0}
        threads = [threading.Thread(target=increment_worker, args=(c, n_ops, errors, counters)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        total = n_ops * len(clients)
        assert counters["commits"] == total
        assert db.counters.find_one({"_id": "a"})["n"] == total
        assert db.counters.find_one({"_id": "b"})["n"] == 2 * total
        assert db.log.count_documents({}) == total
    finally:
        for c in clients:
            c.close()


def test_with_transaction_helper_retries_and_commits(amalgamd):
    clients = [client(amalgamd) for _ in range(4)]
    try:
        db = clients[0].bank
        db.acct.insert_many([{"_id": i, "bal": 1000} for i in range(4)])

        def transfer(c, k, errors):
            def cb(s):
                src, dst = k % 4, (k + 1) % 4
                c.bank.acct.update_one({"_id": src}, {"$inc": {"bal": -1}}, session=s)
                c.bank.acct.update_one({"_id": dst}, {"$inc": {"bal": 1}}, session=s)
            try:
                with c.start_session() as s:
                    for _ in range(20):
                        s.with_transaction(cb, write_concern=WriteConcern("majority"))
            except PyMongoError as e:
                errors.append(repr(e))

        errors = []
        threads = [threading.Thread(target=transfer, args=(c, k, errors)) for k, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        bals = {d["_id"]: d["bal"] for d in db.acct.find()}
        assert sum(bals.values()) == 4000
        assert bals == {0: 1000, 1: 1000, 2: 1000, 3: 1000}  # each account sent 20 and got 20
    finally:
        for c in clients:
            c.close()


def test_thousand_document_transaction_is_all_or_nothing_to_a_reader(amalgamd):
    writer, reader = client(amalgamd), client(amalgamd)
    try:
        db = writer.big
        db.create_collection("docs")
        db.create_collection("flips")
        seen, stop, errors = set(), threading.Event(), []

        def read():
            try:
                deadline = time.monotonic() + 60
                while not stop.is_set() and time.monotonic() < deadline:
                    seen.add(reader.big.docs.count_documents({}))
                    seen.add(("flip", reader.big.flips.count_documents({"v": 1})))
            except PyMongoError as e:
                errors.append(repr(e))

        t = threading.Thread(target=read)
        t.start()
        with writer.start_session() as s:
            s.start_transaction()
            db.docs.insert_many([{"_id": i, "pad": "x" * 100} for i in range(1000)], session=s)
            time.sleep(0.2)  # the reader runs while the transaction is open
            s.commit_transaction()
        db.flips.insert_many([{"_id": i, "v": 0} for i in range(1000)])
        with writer.start_session() as s:
            s.start_transaction()
            db.flips.update_many({}, {"$set": {"v": 1}}, session=s)
            time.sleep(0.2)
            s.commit_transaction()
        time.sleep(0.1)
        stop.set()
        t.join(timeout=70)
        assert errors == []
        counts = {x for x in seen if not isinstance(x, tuple)}
        flips = {x[1] for x in seen if isinstance(x, tuple)}
        assert counts <= {0, 1000} and 0 in counts
        assert flips <= {0, 1000} and 0 in flips
        assert db.docs.count_documents({}) == 1000
        assert db.flips.count_documents({"v": 1}) == 1000
    finally:
        writer.close()
        reader.close()


def test_commit_is_idempotent_and_transaction_numbers_are_checked(raw):
    lsid = new_lsid()
    raw.cmd("t", {"create": "c"})
    r = raw.cmd("t", {"insert": "c", "documents": [{"_id": 1}]}, **txn_fields(lsid, 5, start=True))
    assert r["ok"] == 1.0 and r["n"] == 1
    # Commands go to the admin database.
    first = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 5))
    assert first["ok"] == 1.0
    again = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 5))
    assert without_times(again) == without_times(first)
    r = raw.cmd("admin", {"abortTransaction": 1}, **txn_fields(lsid, 5))
    assert r["code"] == 256 and r["codeName"] == "TransactionCommitted"
    r = raw.cmd("t", {"find": "c"}, **txn_fields(lsid, 5))
    assert r["code"] == 256
    # An older number is too old; an unknown newer one was never started.
    r = raw.cmd("t", {"find": "c"}, **txn_fields(lsid, 4, start=True))
    assert r["code"] == 225 and r["codeName"] == "TransactionTooOld"
    r = raw.cmd("t", {"find": "c"}, **txn_fields(lsid, 6))
    assert r["code"] == 251 and r["codeName"] == "NoSuchTransaction"
    assert r["errorLabels"] == ["TransientTransactionError"]
    r = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 7))
    assert r["code"] == 251
    # Starting the same number twice is refused.
    r = raw.cmd("t", {"find": "c"}, **txn_fields(lsid, 8, start=True))
    assert r["ok"] == 1.0
    r = raw.cmd("t", {"find": "c"}, **txn_fields(lsid, 8, start=True))
    assert r["ok"] == 0.0
    # autocommit must be false; txnNumber needs lsid.
    r = raw.cmd("t", {"find": "c"}, lsid=lsid, txnNumber=Int64(9), autocommit=True)
    assert r["code"] == 72
    r = raw.cmd("t", {"insert": "c", "documents": [{}]}, txnNumber=Int64(9))
    assert r["code"] == 72


def test_operations_not_allowed_in_transactions(raw):
    lsid = new_lsid()
    raw.cmd("t", {"create": "c"})
    r = raw.cmd("t", {"count": "c"}, **txn_fields(lsid, 1, start=True))
    assert r["code"] == 263 and r["codeName"] == "OperationNotSupportedInTransaction"
    assert raw.cmd("t", {"insert": "c", "documents": [{"_id": 1}]}, **txn_fields(lsid, 2, start=True))["ok"] == 1.0
    r = raw.cmd("t", {"listCollections": 1}, **txn_fields(lsid, 2))
    assert r["code"] == 263
    # The refusal aborted the transaction: its insert is gone.
    r = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 2))
    assert r["code"] == 251
    assert raw.cmd("t", {"find": "c"})["cursor"]["firstBatch"] == []
    r = raw.cmd("t", {"insert": "system.views", "documents": [{}]}, **txn_fields(lsid, 3, start=True))
    assert r["code"] == 263
    r = raw.cmd("admin", {"find": "c"}, **txn_fields(lsid, 4, start=True))
    assert r["code"] == 263
    r = raw.cmd("t", {"find": "c", "readConcern": {"level": "linearizable"}}, **txn_fields(lsid, 5, start=True))
    assert r["code"] == 72
    assert raw.cmd("t", {"find": "c", "readConcern": {"level": "snapshot"}},
                   **txn_fields(lsid, 6, start=True))["ok"] == 1.0
    r = raw.cmd("t", {"find": "c", "readConcern": {"level": "snapshot"}}, **txn_fields(lsid, 6))
    assert r["code"] == 72  # only the first command may carry a readConcern


def test_duplicate_key_in_a_transaction_is_a_write_error_and_aborts_it(raw):
    lsid = new_lsid()
    raw.cmd("t", {"insert": "c", "documents": [{"_id": 1}]})
    r = raw.cmd("t", {"insert": "c", "documents": [{"_id": 2}, {"_id": 1}, {"_id": 3}]},
                **txn_fields(lsid, 1, start=True))
    assert r["ok"] == 1.0 and r["n"] == 1
    assert r["writeErrors"][0]["code"] == 11000 and r["writeErrors"][0]["index"] == 1
    r = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 1))
    assert r["code"] == 251
    assert [d["_id"] for d in raw.cmd("t", {"find": "c"})["cursor"]["firstBatch"]] == [1]


def test_cursor_of_a_transaction_pages_inside_it_and_closes_with_it(raw):
    lsid = new_lsid()
    raw.cmd("t", {"insert": "c", "documents": [{"_id": i} for i in range(10)]})
    r = raw.cmd("t", {"insert": "c", "documents": [{"_id": 10}]}, **txn_fields(lsid, 1, start=True))
    assert r["n"] == 1
    r = raw.cmd("t", {"find": "c", "batchSize": 4}, **txn_fields(lsid, 1))
    cid = r["cursor"]["id"]
    got = [d["_id"] for d in r["cursor"]["firstBatch"]]
    r = raw.cmd("t", {"getMore": cid, "collection": "c", "batchSize": 100}, **txn_fields(lsid, 1))
    got += [d["_id"] for d in r["cursor"]["nextBatch"]]
    assert got == list(range(11))
    r = raw.cmd("t", {"find": "c", "batchSize": 2}, **txn_fields(lsid, 1))
    cid = r["cursor"]["id"]
    # Outside the transaction the cursor cannot be used (it reads through the transaction).
    r = raw.cmd("t", {"getMore": cid, "collection": "c"})
    assert r["code"] == 263
    r = raw.cmd("t", {"getMore": cid, "collection": "c", "batchSize": 1}, **txn_fields(lsid, 1))
    assert [d["_id"] for d in r["cursor"]["nextBatch"]] == [2]
    assert raw.cmd("admin", {"abortTransaction": 1}, **txn_fields(lsid, 1))["ok"] == 1.0
    r = raw.cmd("t", {"getMore": cid, "collection": "c"}, lsid=lsid)
    assert r["code"] == 43  # CursorNotFound: closed with its transaction


def test_end_sessions_aborts_the_open_transaction(raw):
    lsid = new_lsid()
    raw.cmd("t", {"create": "c"})
    assert raw.cmd("t", {"insert": "c", "documents": [{"_id": 1}]}, **txn_fields(lsid, 1, start=True))["n"] == 1
    assert raw.cmd("admin", {"endSessions": [lsid]})["ok"] == 1.0
    assert raw.cmd("t", {"find": "c"})["cursor"]["firstBatch"] == []
    r = raw.cmd("admin", {"commitTransaction": 1}, **txn_fields(lsid, 1))
    assert r["code"] == 251
    lsid2 = new_lsid()
    assert raw.cmd("t", {"insert": "c", "documents": [{"_id": 2}]}, **txn_fields(lsid2, 1, start=True))["n"] == 1
    assert raw.cmd("admin", {"killAllSessions": []})["ok"] == 1.0
    assert raw.cmd("t", {"find": "c"})["cursor"]["firstBatch"] == []
    assert raw.cmd("admin", {"refreshSessions": [lsid]})["ok"] == 1.0


def test_replies_carry_cluster_time_and_after_cluster_time_is_checked(mongo, raw):
    r = raw.cmd("t", {"insert": "c", "documents": [{"_id": 1}]})
    op_time = r["operationTime"]
    assert isinstance(op_time, Timestamp) and r["$clusterTime"]["clusterTime"] >= op_time
    r = raw.cmd("t", {"find": "c", "readConcern": {"afterClusterTime": op_time}})
    assert [d["_id"] for d in r["cursor"]["firstBatch"]] == [1]
    future = Timestamp(op_time.time + 3600, 0)
    r = raw.cmd("t", {"find": "c", "readConcern": {"afterClusterTime": future}})
    assert r["code"] == 72
    # pymongo's causally consistent sessions send afterClusterTime on every read.
    with mongo.start_session(causal_consistency=True) as s:
        mongo.t.c.insert_one({"_id": 2}, session=s)
        assert mongo.t.c.find_one({"_id": 2}, session=s) == {"_id": 2}
        assert s.operation_time is not None


def test_list_sessions_and_list_local_sessions(mongo):
    with mongo.start_session() as s:
        mongo.ls_db.c.insert_one({"x": 1}, session=s)  # the session reaches the server
        sid = s.session_id["id"]

        def raw(v):  # pymongo 3 decodes binData subtype 4 as a uuid.UUID
            return v.bytes if hasattr(v, "bytes") else bytes(v)
        local = list(mongo.admin.aggregate([{"$listLocalSessions": {}}]))
        mine = [d for d in local if raw(d["_id"]["id"]) == bytes(sid)]
        assert len(mine) == 1
        # Without access control a session belongs to no user: uid is SHA-256 of "".
        assert bytes(mine[0]["_id"]["uid"]).hex() == (
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        assert mine[0]["lastUse"] is not None
        everyone = list(mongo.config.system.sessions.aggregate([{"$listSessions": {"allUsers": True}},
                                                                 {"$match": {"_id.id": sid}}]))
        assert [raw(d["_id"]["id"]) for d in everyone] == [bytes(sid)]
        assert list(mongo.config.system.sessions.aggregate(
            [{"$listSessions": {"users": [{"user": "nobody", "db": "admin"}]}}])) == []
    with pytest.raises(OperationFailure) as err:
        list(mongo.ls_db.c.aggregate([{"$listSessions": {}}]))
    assert err.value.code == 73
    with pytest.raises(OperationFailure) as err:
        list(mongo.ls_db.c.aggregate([{"$listLocalSessions": {}}]))
    assert err.value.code == 73
    with pytest.raises(OperationFailure) as err:
        list(mongo.admin.aggregate([{"$match": {}}, {"$listLocalSessions": {}}]))
    assert err.value.code == 40602
    with pytest.raises(OperationFailure) as err:
        list(mongo.admin.aggregate([{"$listLocalSessions": {"allUsers": 1}}]))
    assert err.value.code == 14
