"""MongoDB change streams through pymongo: watch() on a collection, a database and the cluster,
every event type, the options, resume tokens (also across a restart) and retention."""
import datetime
import threading
import time

import pymongo
import pytest
from bson import Timestamp
from pymongo.errors import OperationFailure

TIMEOUT_S = 10


def client_for(server):
    return pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)


@pytest.fixture
def client(amalgamd):
    c = client_for(amalgamd)
    yield c
    c.close()


@pytest.fixture
def db(client):
    return client.cs


def next_events(stream, n, timeout=TIMEOUT_S):
    """The next `n` events of `stream`, failing after `timeout` seconds."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        e = stream.try_next()
        if e is not None:
            out.append(e)
    assert len(out) == n, f"got {len(out)} of {n} events: {out}"
    return out


def assert_quiet(stream, wait_s=0.3):
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        e = stream.try_next()
        assert e is None, f"unexpected event {e}"


def raw_stream(db, stage, coll=None, pipeline=(), batch_size=None):
    """Opens a stream with the aggregate command (for options pymongo 3.11 does not know).
    Returns (cursor id, namespace collection, first batch)."""
    cursor = {} if batch_size is None else {"batchSize": batch_size}
    reply = db.command("aggregate", coll if coll else 1, pipeline=[{"$changeStream": stage}, *pipeline],
                       cursor=cursor)
    ns = reply["cursor"]["ns"]
    return reply["cursor"]["id"], ns.split(".", 1)[1], reply["cursor"]["firstBatch"], reply


def raw_next(db, cursor_id, coll, n, timeout=TIMEOUT_S):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        reply = db.command("getMore", cursor_id, collection=coll, maxTimeMS=200)
        out.extend(reply["cursor"]["nextBatch"])
        if reply["cursor"]["id"] == 0:
            break
    assert len(out) >= n, f"got {len(out)} of {n} events: {out}"
    return out


def test_collection_events_are_shaped_as_mongodb(db):
    with db.items.watch() as stream:
        db.items.insert_one({"_id": 1, "a": 1, "arr": [1, 2, 3]})
        db.items.update_one({"_id": 1}, {"$set": {"b": 2}, "$unset": {"a": ""}})
        db.items.update_one({"_id": 1}, {"$pop": {"arr": 1}})
        db.items.replace_one({"_id": 1}, {"x": "new"})
        db.items.delete_one({"_id": 1})
        ins, upd, trunc, rep, dele = next_events(stream, 5)
    for e in (ins, upd, trunc, rep, dele):
        assert set(e["_id"]) == {"_data"} and isinstance(e["_id"]["_data"], str)
        assert isinstance(e["clusterTime"], Timestamp)
        assert isinstance(e["wallTime"], datetime.datetime)
        assert e["ns"] == {"db": "cs", "coll": "items"}
        assert e["documentKey"] == {"_id": 1}
        assert "lsid" not in e and "txnNumber" not in e
    assert ins["operationType"] == "insert"
    assert ins["fullDocument"] == {"_id": 1, "a": 1, "arr": [1, 2, 3]}
    assert list(ins) == ["_id", "operationType", "clusterTime", "wallTime", "fullDocument", "ns", "documentKey"]
    assert upd["operationType"] == "update"
    assert "fullDocument" not in upd
    assert upd["updateDescription"] == {"updatedFields": {"b": 2}, "removedFields": ["a"], "truncatedArrays": []}
    assert trunc["updateDescription"]["truncatedArrays"] == [{"field": "arr", "newSize": 2}]
    assert rep["operationType"] == "replace" and rep["fullDocument"] == {"_id": 1, "x": "new"}
    assert dele["operationType"] == "delete" and "fullDocument" not in dele
    # Tokens grow with the events they name.
    tokens = [e["_id"]["_data"] for e in (ins, upd, trunc, rep, dele)]
    assert tokens == sorted(tokens) and len(set(tokens)) == 5


def test_only_changes_after_the_stream_opened_and_only_of_its_collection(db):
    db.items.insert_one({"_id": "before"})
    with db.items.watch() as stream:
        db.other.insert_one({"_id": "elsewhere"})
        db.items.insert_one({"_id": "after"})
        (e,) = next_events(stream, 1)
        assert e["documentKey"] == {"_id": "after"}
        assert_quiet(stream)


def test_database_and_cluster_streams(client, db):
    with db.watch() as dbs, client.watch() as cluster:
        db.a.insert_one({"_id": 1})
        client.cs_other.b.insert_one({"_id": 2})
        db.a.delete_one({"_id": 1})
        (ins, dele) = next_events(dbs, 2)
        assert (ins["operationType"], ins["ns"]) == ("insert", {"db": "cs", "coll": "a"})
        assert dele["operationType"] == "delete"
        assert_quiet(dbs)
        got = next_events(cluster, 3)
        assert [(e["operationType"], e["ns"]["db"]) for e in got] == [
            ("insert", "cs"), ("insert", "cs_other"), ("delete", "cs")]


def test_drop_and_rename_invalidate_a_collection_stream(db):
    db.gone.insert_one({"_id": 1})
    stream = db.gone.watch()
    db.gone.drop()
    drop, inv = next_events(stream, 2)
    assert drop["operationType"] == "drop" and drop["ns"] == {"db": "cs", "coll": "gone"}
    assert inv["operationType"] == "invalidate" and set(inv) == {"_id", "operationType", "clusterTime", "wallTime"}
    assert not stream.alive
    stream.close()

    db.moving.insert_one({"_id": 1})
    stream = db.moving.watch()
    db.moving.rename("moved")
    ren, inv = next_events(stream, 2)
    assert ren["operationType"] == "rename"
    assert ren["ns"] == {"db": "cs", "coll": "moving"} and ren["to"] == {"db": "cs", "coll": "moved"}
    assert inv["operationType"] == "invalidate"
    stream.close()


def test_a_rename_into_the_watched_collection_invalidates_its_stream(db):
    # As MongoDB: the stream on the target shows the rename (ns = source, to = target), then
    # invalidates. With dropTarget over an existing target the log records the target's drop
    # first, in the same commit: that stream shows the drop (MongoDB shows the rename) and
    # invalidates just the same (docs/change-streams.md).
    for existed in (False, True):
        db.src.drop()
        db.dst.drop()
        db.src.insert_one({"_id": 1})
        if existed:
            db.dst.insert_one({"_id": 2})
        stream = db.dst.watch()
        db.src.rename("dst", dropTarget=existed)
        db.dst.insert_one({"_id": 3})  # after the invalidate: never shown
        events = next_events(stream, 2)
        kinds = [e["operationType"] for e in events]
        if existed:
            assert kinds == ["drop", "invalidate"], events
            assert events[0]["ns"] == {"db": "cs", "coll": "dst"}
        else:
            assert kinds == ["rename", "invalidate"], events
            assert events[0]["ns"] == {"db": "cs", "coll": "src"} and events[0]["to"] == {"db": "cs", "coll": "dst"}
        assert events[1]["_id"] != events[0]["_id"]
        assert not stream.alive
        stream.close()


def test_drop_database_ends_a_database_stream(client):
    d = client.cs_dropped
    d.x.insert_one({"_id": 1})
    d.y.insert_one({"_id": 1})
    with d.watch() as stream, client.watch() as cluster:
        client.drop_database("cs_dropped")
        events = next_events(stream, 4)
        assert [e["operationType"] for e in events] == ["drop", "drop", "dropDatabase", "invalidate"]
        assert events[2]["ns"] == {"db": "cs_dropped"}
        # The cluster stream sees the same changes and stays open.
        assert [e["operationType"] for e in next_events(cluster, 3)] == ["drop", "drop", "dropDatabase"]
        assert cluster.alive


def test_full_document_update_lookup(db):
    db.items.insert_one({"_id": 1, "n": 0})
    with db.items.watch(full_document="updateLookup") as stream:
        db.items.update_one({"_id": 1}, {"$inc": {"n": 1}})
        (e,) = next_events(stream, 1)
        assert e["fullDocument"] == {"_id": 1, "n": 1}
    # Looked up when the event is read: a document deleted meanwhile is null.
    with db.items.watch(full_document="updateLookup") as stream:
        db.items.update_one({"_id": 1}, {"$inc": {"n": 1}})
        db.items.delete_one({"_id": 1})
        upd, _ = next_events(stream, 2)
        assert upd["fullDocument"] is None


def test_pre_and_post_images(db):
    db.create_collection("imaged", changeStreamPreAndPostImages={"enabled": True})
    db.plain.insert_one({"_id": 1, "v": 1})
    db.imaged.insert_one({"_id": 1, "v": 1})
    stage = {"fullDocument": "whenAvailable", "fullDocumentBeforeChange": "whenAvailable"}
    cid, coll, _, _ = raw_stream(db, stage)
    db.imaged.update_one({"_id": 1}, {"$set": {"v": 2}})
    db.imaged.delete_one({"_id": 1})
    db.plain.update_one({"_id": 1}, {"$set": {"v": 2}})
    upd, dele, plain = raw_next(db, cid, coll, 3)
    assert upd["fullDocument"] == {"_id": 1, "v": 2}
    assert upd["fullDocumentBeforeChange"] == {"_id": 1, "v": 1}
    assert dele["fullDocumentBeforeChange"] == {"_id": 1, "v": 2}
    assert plain["ns"]["coll"] == "plain"
    assert plain["fullDocument"] is None and plain["fullDocumentBeforeChange"] is None

    # required: an event without the image fails the stream with NoMatchingDocument.
    for stage in ({"fullDocumentBeforeChange": "required"}, {"fullDocument": "required"}):
        cid, coll, _, _ = raw_stream(db, stage, coll="plain")
        db.plain.update_one({"_id": 1}, {"$inc": {"v": 1}})
        with pytest.raises(OperationFailure) as err:
            raw_next(db, cid, coll, 1)
        assert err.value.code == 47
    cid, coll, _, _ = raw_stream(db, {"fullDocumentBeforeChange": "required"}, coll="imaged")
    db.imaged.insert_one({"_id": 2, "v": 1})
    db.imaged.update_one({"_id": 2}, {"$set": {"v": 5}})
    ins, upd = raw_next(db, cid, coll, 2)
    assert "fullDocumentBeforeChange" not in ins
    assert upd["fullDocumentBeforeChange"] == {"_id": 2, "v": 1}

    # collMod turns recording on for later changes.
    db.command("collMod", "plain", changeStreamPreAndPostImages={"enabled": True})
    with db.plain.watch(full_document="whenAvailable") as stream:
        db.plain.update_one({"_id": 1}, {"$set": {"v": 9}})
        (e,) = next_events(stream, 1)
        assert e["fullDocument"]["v"] == 9


def test_resume_after_and_start_after(db):
    with db.items.watch() as stream:
        for i in range(5):
            db.items.insert_one({"_id": i})
        events = next_events(stream, 5)
    with db.items.watch(resume_after=events[1]["_id"]) as stream:
        got = next_events(stream, 3)
        assert [e["documentKey"]["_id"] for e in got] == [2, 3, 4]
        assert [e["_id"] for e in got] == [e["_id"] for e in events[2:]]
        assert_quiet(stream)
    # startAfter an invalidate starts a new stream after it; resumeAfter may not.
    stream = db.items.watch()
    db.items.drop()
    _, inv = next_events(stream, 2)
    stream.close()
    with pytest.raises(OperationFailure) as err:
        db.items.watch(resume_after=inv["_id"])
    assert err.value.code == 260
    with db.items.watch(start_after=inv["_id"]) as stream:
        db.items.insert_one({"_id": "new"})
        (e,) = next_events(stream, 1)
        assert e["documentKey"] == {"_id": "new"}
    # Resuming from the drop itself yields the invalidate again.
    with db.items.watch(resume_after=_["_id"]) as stream:
        (e,) = next_events(stream, 1)
        assert e["operationType"] == "invalidate" and e["_id"] == inv["_id"]


def test_start_at_operation_time(db):
    with db.items.watch() as stream:
        db.items.insert_one({"_id": 1})
        (first,) = next_events(stream, 1)
        db.items.insert_one({"_id": 2})
        (second,) = next_events(stream, 1)
    with db.items.watch(start_at_operation_time=second["clusterTime"]) as stream:
        (e,) = next_events(stream, 1)
        assert e["_id"] == second["_id"]
    with db.items.watch(start_at_operation_time=first["clusterTime"]) as stream:
        assert [e["documentKey"]["_id"] for e in next_events(stream, 2)] == [1, 2]


def test_batch_size_and_post_batch_resume_token(db):
    cid, coll, first, reply = raw_stream(db, {}, coll="items", batch_size=0)
    assert first == [] and "_data" in reply["cursor"]["postBatchResumeToken"]
    pbrt0 = reply["cursor"]["postBatchResumeToken"]
    db.items.insert_many([{"_id": i} for i in range(5)])
    r = db.command("getMore", cid, collection=coll, batchSize=2)
    assert len(r["cursor"]["nextBatch"]) == 2
    assert r["cursor"]["postBatchResumeToken"] == r["cursor"]["nextBatch"][-1]["_id"]
    r = db.command("getMore", cid, collection=coll)
    assert [e["documentKey"]["_id"] for e in r["cursor"]["nextBatch"]] == [2, 3, 4]
    # Empty batches still move the token past changes the stream does not show.
    db.unrelated.insert_one({"_id": 1})
    r = db.command("getMore", cid, collection=coll, maxTimeMS=50)
    assert r["cursor"]["nextBatch"] == []
    assert r["cursor"]["postBatchResumeToken"]["_data"] > pbrt0["_data"]
    db.command("killCursors", coll, cursors=[cid])
    with db.items.watch(batch_size=3) as stream:
        db.items.insert_many([{"_id": 10 + i} for i in range(7)])
        events = next_events(stream, 7)
        assert stream.resume_token == events[-1]["_id"]


def test_get_more_waits_for_an_event_and_returns_promptly(db):
    cid, coll, _, _ = raw_stream(db, {}, coll="items")
    # Nothing happens: the getMore waits its maxTimeMS, then answers an empty batch.
    t0 = time.monotonic()
    r = db.command("getMore", cid, collection=coll, maxTimeMS=400)
    waited = time.monotonic() - t0
    assert r["cursor"]["nextBatch"] == [] and 0.35 <= waited < 3
    # A commit during the wait answers it at once.
    writer = threading.Timer(0.3, lambda: db.items.insert_one({"_id": "late"}))
    writer.start()
    t0 = time.monotonic()
    r = db.command("getMore", cid, collection=coll, maxTimeMS=8000)
    waited = time.monotonic() - t0
    writer.join()
    assert [e["documentKey"] for e in r["cursor"]["nextBatch"]] == [{"_id": "late"}]
    assert 0.25 <= waited < 2, waited


def test_waiting_get_mores_do_not_hold_the_server(amalgamd, db):
    """More waiting getMores than I/O threads: other commands still run at once."""
    clients = [client_for(amalgamd) for _ in range(6)]
    try:
        streams = [raw_stream(c.cs, {}, coll="items") for c in clients]
        threads = [threading.Thread(target=lambda c=c, s=s: c.cs.command("getMore", s[0], collection=s[1],
                                                                          maxTimeMS=3000))
                   for c, s in zip(clients, streams)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        db.command("ping")
        db.other.insert_one({"_id": 1})
        assert time.monotonic() - t0 < 1.0
        for t in threads:
            t.join(10)
    finally:
        for c in clients:
            c.close()


def test_pipeline_stages_after_change_stream(db):
    pipeline = [{"$match": {"operationType": "insert", "fullDocument.keep": True}},
                {"$project": {"fullDocument.secret": 0}},
                {"$addFields": {"tag": "x"}}, {"$set": {"n": 1}}, {"$unset": "wallTime"}]
    with db.items.watch(pipeline) as stream:
        db.items.insert_one({"_id": 1, "keep": False})
        db.items.insert_one({"_id": 2, "keep": True, "secret": "s"})
        db.items.delete_one({"_id": 2})
        (e,) = next_events(stream, 1)
        assert e["fullDocument"] == {"_id": 2, "keep": True}
        assert e["tag"] == "x" and e["n"] == 1 and "wallTime" not in e
        assert_quiet(stream)
    with pytest.raises(OperationFailure) as err:
        with db.items.watch([{"$project": {"_id": 0}}]) as stream:
            db.items.insert_one({"_id": 3})
            next_events(stream, 1)
    assert err.value.code == 280
    with pytest.raises(OperationFailure):
        db.items.watch([{"$group": {"_id": None}}])


def test_expanded_events_for_indexes_and_collections(db):
    cid, coll, _, _ = raw_stream(db, {"showExpandedEvents": True})
    db.create_collection("ix")
    db.ix.create_index([("a", 1)], name="a_1")
    db.ix.drop_index("a_1")
    events = raw_next(db, cid, coll, 3)
    assert [e["operationType"] for e in events] == ["create", "createIndexes", "dropIndexes"]
    assert events[1]["operationDescription"]["indexes"][0]["key"] == {"a": 1}
    assert events[1]["operationDescription"]["indexes"][0]["name"] == "a_1"
    assert events[2]["operationDescription"]["indexes"][0]["name"] == "a_1"
    assert events[2]["operationDescription"]["indexes"][0]["key"] == {"a": 1}
    assert all("collectionUUID" in e for e in events)
    # Without the option these are not shown.
    with db.ix.watch() as stream:
        db.ix.create_index([("b", 1)])
        db.ix.insert_one({"_id": 1})
        (e,) = next_events(stream, 1)
        assert e["operationType"] == "insert"


def test_bad_options_are_rejected(client, db):
    cases = [({"bogus": 1}, 40415), ({"fullDocument": "sometimes"}, 2),
             ({"resumeAfter": {"_data": "zz"}}, 260)]
    for stage, code in cases:
        with pytest.raises(OperationFailure) as err:
            db.command("aggregate", "items", pipeline=[{"$changeStream": stage}], cursor={})
        assert err.value.code == code, stage
    with pytest.raises(OperationFailure):  # allChangesForCluster only on admin
        db.command("aggregate", 1, pipeline=[{"$changeStream": {"allChangesForCluster": True}}], cursor={})
    with pytest.raises(OperationFailure) as err:
        db.command("aggregate", "items", pipeline=[{"$match": {}}, {"$changeStream": {}}], cursor={})
    assert err.value.code == 40602


def test_transaction_events_carry_lsid_and_txn_number(client, db):
    db.items.insert_one({"_id": 0})
    with db.items.watch() as stream:
        with client.start_session() as s:
            try:
                with s.start_transaction():
                    db.items.insert_one({"_id": 1}, session=s)
                    db.items.insert_one({"_id": 2}, session=s)
            except OperationFailure as e:
                pytest.skip(f"multi-document transactions are not available: {e}")
        a, b = next_events(stream, 2)
    assert a["txnNumber"] == b["txnNumber"] and a["lsid"] == b["lsid"]
    assert a["clusterTime"] == b["clusterTime"] and a["_id"] != b["_id"]


def test_resume_across_a_restart_loses_and_repeats_nothing(start_amalgamd, tmp_path):
    server = start_amalgamd()
    c = client_for(server)
    with c.cs.items.watch() as stream:
        for i in range(10):
            c.cs.items.insert_one({"_id": i})
        seen = next_events(stream, 4)
        token = seen[-1]["_id"]
    for i in range(10, 15):
        c.cs.items.insert_one({"_id": i})
    c.close()
    assert server.stop() == 0
    server = start_amalgamd(data_dir=server.data_dir)
    c = client_for(server)
    try:
        with c.cs.items.watch(resume_after=token) as stream:
            c.cs.items.insert_one({"_id": 15})
            rest = next_events(stream, 12)
            assert [e["documentKey"]["_id"] for e in rest] == list(range(4, 16))
            assert_quiet(stream)
    finally:
        c.close()


def test_change_stream_history_lost_after_retention(start_amalgamd):
    server = start_amalgamd("--change-log-retention", "1")
    c = client_for(server)
    try:
        with c.cs.items.watch() as stream:
            c.cs.items.insert_many([{"_id": 1}, {"_id": 2}])
            first, _ = next_events(stream, 2)
        deadline = time.monotonic() + 10
        while True:
            try:
                c.cs.items.watch(resume_after=first["_id"]).close()
            except OperationFailure as e:
                assert e.code == 286 and e.details["codeName"] == "ChangeStreamHistoryLost"
                break
            assert time.monotonic() < deadline, "history was never trimmed"
            time.sleep(0.2)
        # A fresh stream still works.
        with c.cs.items.watch() as stream:
            c.cs.items.insert_one({"_id": 3})
            assert next_events(stream, 1)[0]["documentKey"] == {"_id": 3}
    finally:
        c.close()


def test_sigterm_does_not_wait_for_a_long_await(start_amalgamd):
    server = start_amalgamd()
    c = client_for(server)
    cid, coll, _, _ = raw_stream(c.cs, {}, coll="items")
    outcome = {}

    def wait():
        try:
            outcome["reply"] = c.cs.command("getMore", cid, collection=coll, maxTimeMS=60000)
        except Exception as e:  # the connection may close under it: also an answer
            outcome["error"] = e

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - t0 < 5
    t.join(10)
    assert not t.is_alive() and outcome
    if "reply" in outcome:
        assert outcome["reply"]["cursor"]["nextBatch"] == []
    c.close()
