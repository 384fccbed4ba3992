"""DynamoDB TTL through boto3: UpdateTimeToLive registers an epoch-seconds attribute rule with the
server's expirer (short interval here: --ttl-interval-ms 100), which deletes expired items within
the bound; items whose attribute is missing or not a number stay, as in DynamoDB."""
import time

import pytest

from conftest import dynamo_client

WAIT_S = 5


@pytest.fixture
def server(start_amalgamd):
    return start_amalgamd("--ttl-interval-ms", "100")


@pytest.fixture
def ddb(server):
    return dynamo_client(server)


def make_table(ddb, name="Sessions"):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])


def ids(ddb, name="Sessions"):
    return sorted(i["id"]["S"] for i in ddb.scan(TableName=name, ConsistentRead=True)["Items"])


def wait_for(ddb, expected, name="Sessions", timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        got = ids(ddb, name)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_expired_items_are_deleted_within_the_bound(ddb):
    make_table(ddb)
    now = int(time.time())
    items = {
        "past": {"N": str(now - 3600)},
        "past-fraction": {"N": f"{now - 10}.5"},
        "future": {"N": str(now + 3600)},
        "string": {"S": str(now - 3600)},           # not a number: ignored
        "ancient": {"N": str(now - 6 * 365 * 86400)},  # over five years ago: ignored
        "millis": {"N": str(now * 1000 + 3_600_000)},  # far future when read as seconds
    }
    for k, v in items.items():
        ddb.put_item(TableName="Sessions", Item={"id": {"S": k}, "exp": v})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "none"}})
    time.sleep(0.5)
    # Nothing expires before TTL is enabled.
    assert len(ids(ddb)) == 7
    t0 = time.monotonic()
    r = ddb.update_time_to_live(TableName="Sessions",
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "exp"}
    keep = ["ancient", "future", "millis", "none", "string"]
    assert wait_for(ddb, keep) == keep
    assert time.monotonic() - t0 < WAIT_S
    # An item that expires a moment from now goes too.
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "soon"}, "exp": {"N": str(int(time.time()) + 1)}})
    assert "soon" in ids(ddb)
    assert wait_for(ddb, keep) == keep


def test_disabling_ttl_stops_expiry(ddb):
    make_table(ddb)
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "a"}, "exp": {"N": "1700000000"}})
    assert wait_for(ddb, []) == []
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
    desc = ddb.describe_time_to_live(TableName="Sessions")["TimeToLiveDescription"]
    assert desc["TimeToLiveStatus"] == "DISABLED"
    time.sleep(0.3)  # a pass that started before the change may still run once
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "b"}, "exp": {"N": str(int(time.time()) - 60)}})
    time.sleep(1.0)  # ten passes of the expirer
    assert ids(ddb) == ["b"]


def test_ttl_attribute_written_through_mongo_as_a_plain_number_counts(ddb, server):
    import pymongo
    make_table(ddb)
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    c = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    try:
        coll = c["dynamodb"]["Sessions"]
        coll.insert_one({"_id": "m1", "id": "m1", "exp": int(time.time()) - 60})
        coll.insert_one({"_id": "m2", "id": "m2", "exp": int(time.time()) + 3600})
    finally:
        c.close()
    assert wait_for(ddb, ["m2"]) == ["m2"]


def test_items_from_before_enabling_expire_through_the_ttl_index(ddb, server):
    import pymongo
    make_table(ddb)
    now = int(time.time())
    for i in range(50):
        ddb.put_item(TableName="Sessions", Item={"id": {"S": f"keep{i:02}"}, "exp": {"N": str(now + 3600)}})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "old"}, "exp": {"N": str(now - 60)}})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "text"}, "exp": {"S": str(now - 60)}})
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    c = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    try:
        names = [ix["name"] for ix in c["dynamodb"]["Sessions"].list_indexes()]
        assert "ttl:exp" in names
        # The DynamoDB face shows no index for it.
        assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName="Sessions")["Table"]
        expected = sorted([f"keep{i:02}" for i in range(50)] + ["text"])
        assert wait_for(ddb, expected) == expected
        ddb.put_item(TableName="Sessions", Item={"id": {"S": "new"}, "exp": {"N": str(now - 1)}})
        assert wait_for(ddb, expected) == expected
        ddb.update_time_to_live(TableName="Sessions",
                                TimeToLiveSpecification={"Enabled": False, "AttributeName": "exp"})
        assert "ttl:exp" not in [ix["name"] for ix in c["dynamodb"]["Sessions"].list_indexes()]
    finally:
        c.close()


def test_the_ttl_index_dropped_through_mongo_is_rebuilt_and_expiry_goes_on(ddb, server):
    import pymongo
    make_table(ddb)
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    c = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    try:
        coll = c["dynamodb"]["Sessions"]
        coll.drop_index("ttl:exp")
        now = int(time.time())
        ddb.put_item(TableName="Sessions", Item={"id": {"S": "gone"}, "exp": {"N": str(now - 60)}})
        ddb.put_item(TableName="Sessions", Item={"id": {"S": "stays"}, "exp": {"N": str(now + 3600)}})
        assert wait_for(ddb, ["stays"]) == ["stays"]
        deadline = time.monotonic() + WAIT_S
        while "ttl:exp" not in [ix["name"] for ix in coll.list_indexes()] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "ttl:exp" in [ix["name"] for ix in coll.list_indexes()]
    finally:
        c.close()


def test_an_attribute_name_the_index_cannot_hold_still_expires(ddb):
    make_table(ddb)
    ddb.update_time_to_live(TableName="Sessions",
                            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires.at"})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "a"}, "expires.at": {"N": str(int(time.time()) - 60)}})
    ddb.put_item(TableName="Sessions", Item={"id": {"S": "b"}, "expires.at": {"N": str(int(time.time()) + 3600)}})
    assert wait_for(ddb, ["b"]) == ["b"]
