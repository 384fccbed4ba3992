"""A transaction whose first command is a bulk update by _id (what drivers send for a bulk write
in a transaction, and bench/mongo_load's txn10): every statement commits, a document held by
another transaction fails the command fast with WriteConflict (client transactions wait at most
1 ms for a lock, docs/transactions.md) and leaves no trace, the snapshot stays stable and still
detects later commits, and overlapping concurrent transactions end with exact totals."""
import time

import pymongo
import pytest
from pymongo import UpdateOne
from pymongo.errors import OperationFailure, PyMongoError


@pytest.fixture
def mongo(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
    yield c
    c.close()


def bulk_inc(coll, ids, session, by=1):
    return coll.bulk_write([UpdateOne({"_id": i}, {"$inc": {"n": by}}) for i in ids], session=session)


def test_first_bulk_update_commits_every_statement(mongo):
    coll = mongo.txnfirst.c
    coll.insert_many([{"_id": i, "n": 0} for i in range(10)])
    with mongo.start_session() as s:
        s.start_transaction()
        r = bulk_inc(coll, [1, 3, 5, 7, 42], s)  # 42 does not exist: matches nothing
        assert (r.matched_count, r.modified_count) == (4, 4)
        # Own writes visible inside, nothing outside before the commit.
        assert [d["n"] for d in coll.find({"_id": {"$in": [1, 3]}}, session=s)] == [1, 1]
        assert coll.count_documents({"n": 1}) == 0
        s.commit_transaction()
    assert sorted(d["_id"] for d in coll.find({"n": 1})) == [1, 3, 5, 7]
    assert coll.count_documents({"_id": 42}) == 0


def test_first_bulk_update_meeting_a_locked_document_conflicts_and_leaves_no_trace(mongo):
    coll = mongo.txnfirst.c
    coll.insert_many([{"_id": i, "n": 0} for i in range(5)])
    s1, s2 = mongo.start_session(), mongo.start_session()
    try:
        s1.start_transaction()
        coll.update_one({"_id": 2}, {"$inc": {"n": 100}}, session=s1)  # s1 holds document 2
        s2.start_transaction()
        began = time.monotonic()
        with pytest.raises(OperationFailure) as e:
            bulk_inc(coll, [0, 1, 2, 3], s2)
        # A client transaction does not wait out the holder: it fails fast (1 ms lock wait).
        assert time.monotonic() - began < 0.5
        assert e.value.code == 112 and e.value.has_error_label("TransientTransactionError")
        with pytest.raises(OperationFailure) as e:
            s2.commit_transaction()
        assert e.value.code == 251  # the conflict aborted it
        # The aborted transaction released its locks: a plain write of its documents succeeds.
        assert coll.update_one({"_id": 0}, {"$inc": {"n": 1}}).modified_count == 1
        s1.commit_transaction()
    finally:
        s1.end_session()
        s2.end_session()
    assert {d["_id"]: d["n"] for d in coll.find()} == {0: 1, 1: 0, 2: 100, 3: 0, 4: 0}


def test_documents_locked_by_a_first_bulk_update_refuse_other_writers_until_commit(mongo):
    coll = mongo.txnfirst.c
    coll.insert_many([{"_id": i, "n": 0} for i in range(3)])
    with mongo.start_session() as s:
        s.start_transaction()
        bulk_inc(coll, [0, 1], s)
        with mongo.start_session() as other:
            other.start_transaction()
            with pytest.raises(OperationFailure) as e:
                coll.update_one({"_id": 1}, {"$inc": {"n": 5}}, session=other)
            assert e.value.code == 112
            other.abort_transaction()
        s.commit_transaction()
    assert [d["n"] for d in coll.find().sort("_id", 1)] == [1, 1, 0]


def test_snapshot_of_a_first_bulk_update_is_stable_and_detects_later_commits(mongo):
    coll = mongo.txnfirst.c
    coll.insert_many([{"_id": i, "n": 0} for i in range(4)])
    with mongo.start_session() as s:
        s.start_transaction()
        bulk_inc(coll, [0, 1], s)
        coll.update_one({"_id": 2}, {"$set": {"n": 7}})  # plain write committed after it
        assert coll.find_one({"_id": 2}, session=s)["n"] == 0  # not seen: stable snapshot
        with pytest.raises(OperationFailure) as e:
            bulk_inc(coll, [2], s)  # changed after the snapshot: a conflict, not a lost update
        assert e.value.code == 112 and e.value.has_error_label("TransientTransactionError")
    assert [d["n"] for d in coll.find().sort("_id", 1)] == [0, 0, 7, 0]


def test_concurrent_bulk_transactions_over_overlapping_documents_end_exact(amalgamd):
    import threading

    clients = [pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000)
               for _ in range(6)]
    try:
        coll = clients[0].txnfirst.c
        coll.insert_many([{"_id": i, "n": 0} for i in range(8)])
        commits, errors = [0], []
        lock = threading.Lock()

        def worker(c, k):
            cl = c.txnfirst.c
            deadline = time.monotonic() + 60
            done = 0
            with c.start_session() as s:
                while done < 20 and time.monotonic() < deadline:
                    ids = sorted({(k + j) % 8 for j in range(0, 8, 3)})
                    try:
                        s.start_transaction()
                        bulk_inc(cl, ids, s)
                        s.commit_transaction()
                        done += 1
                    except PyMongoError as e:
                        if s.in_transaction:
                            s.abort_transaction()
                        if not (isinstance(e, OperationFailure) and e.has_error_label("TransientTransactionError")):
                            with lock:
                                errors.append(repr(e))
                            return
            with lock:
                commits[0] += done

        threads = [threading.Thread(target=worker, args=(c, k)) for k, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert commits[0] == 20 * len(clients)
        # Every commit added 1 to each of its 3 documents.
        assert sum(d["n"] for d in coll.find()) == 3 * commits[0]
    finally:
        for c in clients:
            c.close()
