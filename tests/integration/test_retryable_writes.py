"""Retryable writes: a write sent again with the same lsid + txnNumber is applied once and
answered with the original reply, also after a restart of the server."""
import pymongo
import pytest
from bson import Int64

from mongo_raw import RawClient, new_lsid, without_times


@pytest.fixture
def raw(amalgamd):
    r = RawClient(amalgamd.ports["mongo"])
    yield r
    r.close()


def retryable(lsid, n):
    return {"lsid": lsid, "txnNumber": Int64(n)}


def twice(raw, db, command, lsid, n):
    first = raw.cmd(db, command, **retryable(lsid, n))
    second = raw.cmd(db, command, **retryable(lsid, n))
    assert first["ok"] == 1.0, first
    assert without_times(second) == without_times(first)
    return first


def docs(raw, coll, **kw):
    r = raw.cmd("rw", {"find": coll, "sort": {"_id": 1}, **kw})
    return r["cursor"]["firstBatch"]


def test_update_insert_delete_and_find_and_modify_apply_once(raw):
    lsid = new_lsid()
    r = twice(raw, "rw", {"insert": "c", "documents": [{"_id": 1, "n": 0}, {"_id": 2, "n": 0}]}, lsid, 1)
    assert r["n"] == 2 and "writeErrors" not in r
    r = twice(raw, "rw", {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]}, lsid, 2)
    assert (r["n"], r["nModified"]) == (1, 1)
    r = twice(raw, "rw", {"update": "c", "updates": [{"q": {"_id": 7}, "u": {"$inc": {"n": 5}}, "upsert": True}]},
              lsid, 3)
    assert r["n"] == 1 and r["upserted"] == [{"index": 0, "_id": 7}]
    r = twice(raw, "rw", {"findAndModify": "c", "query": {"_id": 2}, "update": {"$inc": {"n": 10}}, "new": True},
              lsid, 4)
    assert r["value"] == {"_id": 2, "n": 10}
    r = twice(raw, "rw", {"findAndModify": "c", "query": {"_id": 2}, "remove": True}, lsid, 5)
    assert r["value"] == {"_id": 2, "n": 10}
    assert docs(raw, "c") == [{"_id": 1, "n": 1}, {"_id": 7, "n": 5}]
    r = twice(raw, "rw", {"delete": "c", "deletes": [{"q": {"_id": 7}, "limit": 1}]}, lsid, 6)
    assert r["n"] == 1
    assert docs(raw, "c") == [{"_id": 1, "n": 1}]
    # A new number is a new write; an older one is refused.
    raw.cmd("rw", {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]}, **retryable(lsid, 7))
    assert docs(raw, "c") == [{"_id": 1, "n": 2}]
    r = raw.cmd("rw", {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]}, **retryable(lsid, 2))
    assert r["code"] == 225 and r["codeName"] == "TransactionTooOld"
    # Sessions are independent: the same number on another session is another write.
    other = new_lsid()
    raw.cmd("rw", {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}]}, **retryable(other, 2))
    assert docs(raw, "c") == [{"_id": 1, "n": 3}]


def test_batch_with_a_failed_statement_is_replayed_with_its_write_errors(raw):
    lsid = new_lsid()
    raw.cmd("rw", {"insert": "b", "documents": [{"_id": 2}]})
    cmd = {"insert": "b", "ordered": False, "documents": [{"_id": 1}, {"_id": 2, "x": 1}, {"_id": 3}]}
    r = twice(raw, "rw", cmd, lsid, 1)
    assert r["n"] == 2
    assert [(e["index"], e["code"]) for e in r["writeErrors"]] == [(1, 11000)]
    assert docs(raw, "b") == [{"_id": 1}, {"_id": 2}, {"_id": 3}]
    # A failed statement is undone alone, including its unique index entries.
    raw.cmd("rw", {"createIndexes": "u", "indexes": [{"key": {"k": 1}, "name": "k_1", "unique": True}]})
    cmd = {"insert": "u", "ordered": False, "documents": [{"_id": 1, "k": 1}, {"_id": 2, "k": 1}, {"_id": 3, "k": 3}]}
    r = twice(raw, "rw", cmd, lsid, 2)
    assert r["n"] == 2 and [e["index"] for e in r["writeErrors"]] == [1]
    v = raw.cmd("rw", {"validate": "u"})
    assert v["valid"] is True and v["keysPerIndex"]["k_1"] == 2


def test_replay_survives_a_restart(start_amalgamd, tmp_path):
    data = tmp_path / "rwdata"
    server = start_amalgamd(data_dir=data)
    lsid = new_lsid()
    raw = RawClient(server.ports["mongo"])
    inc = {"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}, "upsert": True}]}
    first = raw.cmd("rw", inc, **retryable(lsid, 41))
    assert first["n"] == 1 and first["upserted"] == [{"index": 0, "_id": 1}]
    fam = {"findAndModify": "c", "query": {"_id": 1}, "update": {"$inc": {"n": 1}}, "new": True}
    lsid2 = new_lsid()
    fam_first = raw.cmd("rw", fam, **retryable(lsid2, 3))
    assert fam_first["value"] == {"_id": 1, "n": 2}
    # A committed transaction's commit is remembered too.
    lsid3 = new_lsid()
    r = raw.cmd("rw", {"insert": "t", "documents": [{"_id": 1}]}, lsid=lsid3, txnNumber=Int64(9),
                autocommit=False, startTransaction=True)
    assert r["n"] == 1
    commit = raw.cmd("admin", {"commitTransaction": 1}, lsid=lsid3, txnNumber=Int64(9), autocommit=False)
    assert commit["ok"] == 1.0
    raw.close()
    assert server.stop() == 0

    server = start_amalgamd(data_dir=data)
    raw = RawClient(server.ports["mongo"])
    try:
        again = raw.cmd("rw", inc, **retryable(lsid, 41))
        assert without_times(again) == without_times(first)
        assert without_times(raw.cmd("rw", fam, **retryable(lsid2, 3))) == without_times(fam_first)
        assert docs(raw, "c") == [{"_id": 1, "n": 2}]
        r = raw.cmd("rw", inc, **retryable(lsid, 40))
        assert r["code"] == 225
        r = raw.cmd("admin", {"commitTransaction": 1}, lsid=lsid3, txnNumber=Int64(9), autocommit=False)
        assert r["ok"] == 1.0
        r = raw.cmd("rw", {"find": "t"}, lsid=lsid3, txnNumber=Int64(8), autocommit=False, startTransaction=True)
        assert r["code"] == 225
        raw.cmd("rw", inc, **retryable(lsid, 42))
        assert docs(raw, "c") == [{"_id": 1, "n": 3}]
    finally:
        raw.close()


def test_pymongo_retryable_writes_work_end_to_end(amalgamd):
    c = pymongo.MongoClient("127.0.0.1", amalgamd.ports["mongo"], serverSelectionTimeoutMS=5000, retryWrites=True)
    try:
        coll = c.rw.p
        coll.insert_one({"_id": 1, "n": 0})
        for _ in range(50):
            coll.update_one({"_id": 1}, {"$inc": {"n": 1}})
        assert coll.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}}, return_document=True)["n"] == 51
        assert coll.delete_one({"_id": 1}).deleted_count == 1
        assert coll.count_documents({}) == 0
    finally:
        c.close()


def test_txn_number_on_a_command_that_is_not_a_write_is_refused(raw):
    r = raw.cmd("rw", {"find": "c"}, **retryable(new_lsid(), 1))
    assert r["code"] == 72
