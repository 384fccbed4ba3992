"""TTL indexes through pymongo: the background expirer deletes expired documents within its
interval (short here: --ttl-interval-ms 100), through the engine, so the deletes appear in
change streams and indexes, and it picks up after a restart."""
import datetime
import time

import pymongo
import pytest

WAIT_S = 5  # the bound on how late a document may expire


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def client_for(server):
    return pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)


@pytest.fixture
def server(start_amalgamd):
    return start_amalgamd("--ttl-interval-ms", "100")


@pytest.fixture
def db(server):
    c = client_for(server)
    yield c.ttl
    c.close()


def wait_for_ids(coll, expected, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        got = sorted((d["_id"] for d in coll.find({}, {"_id": 1})), key=str)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_expired_documents_are_deleted_within_the_bound(db):
    db.s.create_index("at", expireAfterSeconds=60)
    t0 = time.monotonic()
    db.s.insert_many([
        {"_id": 1, "at": now() - datetime.timedelta(hours=1)},       # expired
        {"_id": 2, "at": now()},                                      # a minute to go
        {"_id": 3, "at": "not a date"},                               # never
        {"_id": 4},                                                   # never
        {"_id": 5, "at": [now() + datetime.timedelta(days=1),
                          now() - datetime.timedelta(days=1)]},       # earliest date counts
        {"_id": 6, "at": [now() + datetime.timedelta(days=1)]},
    ])
    assert wait_for_ids(db.s, [2, 3, 4, 6]) == [2, 3, 4, 6]
    assert time.monotonic() - t0 < WAIT_S
    # The index entries went with the documents.
    assert db.s.count_documents({"at": {"$lt": now()}}) == 1  # only _id 2 (dated now)
    assert db.command("validate", "s")["valid"]


def test_short_expiry_passes_while_we_wait(db):
    db.s.create_index("at", expireAfterSeconds=1)
    db.s.insert_one({"_id": 1, "at": now()})
    time.sleep(0.3)
    assert db.s.count_documents({}) == 1  # not yet
    assert wait_for_ids(db.s, []) == []


def test_partial_filter_ttl_index_expires_only_matching_documents(db):
    db.s.create_index("at", expireAfterSeconds=0, partialFilterExpression={"temp": True})
    old = now() - datetime.timedelta(minutes=5)
    db.s.insert_many([{"_id": 1, "at": old, "temp": True}, {"_id": 2, "at": old, "temp": False},
                      {"_id": 3, "at": old}])
    assert wait_for_ids(db.s, [2, 3]) == [2, 3]
    time.sleep(0.5)  # several more passes: the others stay
    assert sorted(d["_id"] for d in db.s.find()) == [2, 3]


def test_many_expired_documents_are_deleted_in_batches(db):
    db.s.create_index("at", expireAfterSeconds=0)
    old = now() - datetime.timedelta(minutes=1)
    db.s.insert_many([{"_id": i, "at": old} for i in range(3000)])
    db.s.insert_one({"_id": "keep", "at": now() + datetime.timedelta(hours=1)})
    assert wait_for_ids(db.s, ["keep"], timeout=20) == ["keep"]


def test_ttl_deletes_appear_in_change_streams(db):
    db.s.create_index("at", expireAfterSeconds=0)
    with db.s.watch() as stream:
        db.s.insert_one({"_id": "gone", "at": now() - datetime.timedelta(seconds=10)})
        events = []
        deadline = time.monotonic() + WAIT_S + 2
        while len(events) < 2 and time.monotonic() < deadline:
            e = stream.try_next()
            if e is not None:
                events.append(e)
    assert [e["operationType"] for e in events] == ["insert", "delete"]
    assert events[1]["documentKey"] == {"_id": "gone"}


def test_expiry_resumes_after_a_restart(start_amalgamd):
    server = start_amalgamd("--ttl-interval-ms", "100")
    c = client_for(server)
    c.ttl.s.create_index("at", expireAfterSeconds=2)
    c.ttl.s.insert_many([{"_id": 1, "at": now()}, {"_id": 2, "at": now() + datetime.timedelta(days=1)}])
    c.close()
    assert server.stop() == 0
    time.sleep(2.2)  # document 1 expires while the server is down
    server = start_amalgamd("--ttl-interval-ms", "100", data_dir=server.data_dir)
    c = client_for(server)
    try:
        assert wait_for_ids(c.ttl.s, [2]) == [2]
    finally:
        c.close()
