"""Query and Scan through boto3 against the real amalgamd."""
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(dynamo):
    dynamo.create_table(
        TableName="Events", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"},
                              {"AttributeName": "ts", "AttributeType": "N"},
                              {"AttributeName": "kind", "AttributeType": "S"},
                              {"AttributeName": "score", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{"IndexName": "ByKind",
                                 "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                                               {"AttributeName": "ts", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        LocalSecondaryIndexes=[{"IndexName": "ByScore",
                                "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"},
                                              {"AttributeName": "score", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "ALL"}}])
    for user in ("alice", "bob"):
        for ts in range(1, 21):
            item = {"user": {"S": user}, "ts": {"N": str(ts)}, "payload": {"S": f"{user}-{ts}"},
                    "score": {"N": str((ts * 7) % 20)}}
            if ts % 3 == 0:
                item["kind"] = {"S": "click"}
            dynamo.put_item(TableName="Events", Item=item)
    return "Events"


def ts_list(items):
    return [int(i["ts"]["N"]) for i in items]


def test_partition_in_sort_order_both_directions(dynamo, table):
    r = dynamo.query(TableName=table, KeyConditionExpression="#u = :u",
                     ExpressionAttributeNames={"#u": "user"}, ExpressionAttributeValues={":u": {"S": "alice"}})
    assert ts_list(r["Items"]) == list(range(1, 21))
    assert r["Count"] == 20 and r["ScannedCount"] == 20 and "LastEvaluatedKey" not in r
    r = dynamo.query(TableName=table, KeyConditionExpression="#u = :u", ScanIndexForward=False,
                     ExpressionAttributeNames={"#u": "user"}, ExpressionAttributeValues={":u": {"S": "bob"}})
    assert ts_list(r["Items"]) == list(range(20, 0, -1))


@pytest.mark.parametrize("cond,values,expected", [
    ("ts < :a", {":a": {"N": "4"}}, [1, 2, 3]),
    ("ts <= :a", {":a": {"N": "4"}}, [1, 2, 3, 4]),
    ("ts > :a", {":a": {"N": "17"}}, [18, 19, 20]),
    ("ts >= :a", {":a": {"N": "17"}}, [17, 18, 19, 20]),
    ("ts = :a", {":a": {"N": "5"}}, [5]),
    ("ts BETWEEN :a AND :b", {":a": {"N": "9"}, ":b": {"N": "11"}}, [9, 10, 11]),
])
def test_sort_key_conditions(dynamo, table, cond, values, expected):
    values = {":u": {"S": "alice"}, **values}
    r = dynamo.query(TableName=table, KeyConditionExpression=f"#u = :u AND {cond}",
                     ExpressionAttributeNames={"#u": "user"}, ExpressionAttributeValues=values)
    assert ts_list(r["Items"]) == expected
    r = dynamo.query(TableName=table, KeyConditionExpression=f"#u = :u AND {cond}", ScanIndexForward=False,
                     ExpressionAttributeNames={"#u": "user"}, ExpressionAttributeValues=values)
    assert ts_list(r["Items"]) == expected[::-1]


def test_begins_with_on_string_sort_key(dynamo):
    dynamo.create_table(TableName="Docs", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                              {"AttributeName": "s", "AttributeType": "S"}])
    for s in ["a", "ab", "abc", "abd", "b", "aa"]:
        dynamo.put_item(TableName="Docs", Item={"p": {"S": "x"}, "s": {"S": s}})
    r = dynamo.query(TableName="Docs", KeyConditionExpression="p = :p AND begins_with(s, :b)",
                     ExpressionAttributeValues={":p": {"S": "x"}, ":b": {"S": "ab"}})
    assert [i["s"]["S"] for i in r["Items"]] == ["ab", "abc", "abd"]


def test_limit_pagination_filter_projection_count(dynamo, table):
    base = dict(TableName=table, KeyConditionExpression="#u = :u", ExpressionAttributeNames={"#u": "user"},
                ExpressionAttributeValues={":u": {"S": "alice"}})
    r = dynamo.query(Limit=5, **base)
    assert ts_list(r["Items"]) == [1, 2, 3, 4, 5]
    assert r["LastEvaluatedKey"] == {"user": {"S": "alice"}, "ts": {"N": "5"}}
    r = dynamo.query(Limit=5, ExclusiveStartKey=r["LastEvaluatedKey"], **base)
    assert ts_list(r["Items"]) == [6, 7, 8, 9, 10]
    seen = []
    for page in dynamo.get_paginator("query").paginate(PaginationConfig={"PageSize": 7}, **base):
        seen += ts_list(page["Items"])
    assert seen == list(range(1, 21))
    r = dynamo.query(FilterExpression="attribute_exists(kind)", ProjectionExpression="ts, payload", **base)
    assert r["Count"] == 6 and r["ScannedCount"] == 20
    assert r["Items"][0] == {"ts": {"N": "3"}, "payload": {"S": "alice-3"}}
    r = dynamo.query(Select="COUNT", **base)
    assert r["Count"] == 20 and "Items" not in r
    with pytest.raises(ClientError) as e:
        dynamo.query(FilterExpression="ts > :u", **{**base, "ExpressionAttributeValues": {":u": {"S": "alice"}}})
    assert "Filter Expression can only contain non-primary key attributes" in e.value.response["Error"]["Message"]


def test_one_megabyte_page_rule(dynamo):
    dynamo.create_table(TableName="Big", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                              {"AttributeName": "s", "AttributeType": "N"}])
    blob = "x" * (100 * 1024)
    for i in range(15):
        dynamo.put_item(TableName="Big", Item={"p": {"S": "k"}, "s": {"N": str(i)}, "b": {"S": blob}})
    r = dynamo.query(TableName="Big", KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "k"}})
    assert r["Count"] == 11  # the page stops at the item that reaches 1 MB
    assert r["LastEvaluatedKey"] == {"p": {"S": "k"}, "s": {"N": "10"}}
    r = dynamo.scan(TableName="Big")
    assert r["Count"] == 11 and "LastEvaluatedKey" in r


def test_global_and_local_index_queries(dynamo, table):
    r = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k AND ts > :t",
                     ExpressionAttributeValues={":k": {"S": "click"}, ":t": {"N": "10"}})
    assert sorted(ts_list(r["Items"])) == [12, 12, 15, 15, 18, 18]
    # KEYS_ONLY: table key and index key, nothing else.
    assert set(r["Items"][0]) == {"user", "ts", "kind"}
    r = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                     ExpressionAttributeValues={":k": {"S": "click"}}, Limit=4)
    assert r["Count"] == 4 and set(r["LastEvaluatedKey"]) == {"user", "ts", "kind"}
    rest = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                        ExpressionAttributeValues={":k": {"S": "click"}}, ExclusiveStartKey=r["LastEvaluatedKey"])
    assert r["Count"] + rest["Count"] == 12
    keys = {(i["user"]["S"], i["ts"]["N"]) for i in r["Items"] + rest["Items"]}
    assert len(keys) == 12
    r = dynamo.query(TableName=table, IndexName="ByScore", KeyConditionExpression="#u = :u AND score < :s",
                     ExpressionAttributeNames={"#u": "user"},
                     ExpressionAttributeValues={":u": {"S": "bob"}, ":s": {"N": "3"}})
    scores = [int(i["score"]["N"]) for i in r["Items"]]
    assert scores == sorted(scores) and all(s < 3 for s in scores) and len(scores) == 3
    assert "payload" in r["Items"][0]  # ALL projection
    with pytest.raises(ClientError) as e:
        dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k", ConsistentRead=True,
                     ExpressionAttributeValues={":k": {"S": "click"}})
    assert "Consistent reads are not supported on global secondary indexes" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        dynamo.query(TableName=table, IndexName="Nope", KeyConditionExpression="kind = :k",
                     ExpressionAttributeValues={":k": {"S": "click"}})
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_gsi_added_later_is_backfilled(dynamo, table):
    dynamo.update_table(TableName=table, AttributeDefinitions=[{"AttributeName": "payload", "AttributeType": "S"}],
                        GlobalSecondaryIndexUpdates=[{"Create": {
                            "IndexName": "ByPayload", "KeySchema": [{"AttributeName": "payload", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "ALL"}}}])
    r = dynamo.query(TableName=table, IndexName="ByPayload", KeyConditionExpression="payload = :p",
                     ExpressionAttributeValues={":p": {"S": "bob-7"}})
    assert r["Count"] == 1 and r["Items"][0]["ts"] == {"N": "7"}


def test_scan_filters_paginates_and_segments(dynamo, table):
    r = dynamo.scan(TableName=table)
    assert r["Count"] == 40
    r = dynamo.scan(TableName=table, FilterExpression="score = :z", ExpressionAttributeValues={":z": {"N": "0"}})
    assert r["ScannedCount"] == 40 and r["Count"] == 2
    seen = []
    for page in dynamo.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 6}):
        seen += [(i["user"]["S"], i["ts"]["N"]) for i in page["Items"]]
    assert len(seen) == 40 and len(set(seen)) == 40
    parts = []
    for seg in range(4):
        items = []
        for page in dynamo.get_paginator("scan").paginate(TableName=table, Segment=seg, TotalSegments=4,
                                                          PaginationConfig={"PageSize": 5}):
            items += [(i["user"]["S"], i["ts"]["N"]) for i in page["Items"]]
        parts.append(set(items))
    assert sum(len(p) for p in parts) == 40 and set().union(*parts) == set(seen)
    r = dynamo.scan(TableName=table, IndexName="ByKind")
    assert r["Count"] == 12
    with pytest.raises(ClientError) as e:
        dynamo.scan(TableName=table, Segment=4, TotalSegments=4)
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_capacity_by_index(dynamo, table):
    r = dynamo.put_item(TableName=table, Item={"user": {"S": "cap"}, "ts": {"N": "1"}, "kind": {"S": "view"},
                                               "score": {"N": "1"}}, ReturnConsumedCapacity="INDEXES")
    c = r["ConsumedCapacity"]
    assert c["Table"]["CapacityUnits"] == 1.0
    assert c["GlobalSecondaryIndexes"]["ByKind"]["CapacityUnits"] == 1.0
    assert c["LocalSecondaryIndexes"]["ByScore"]["CapacityUnits"] == 1.0
    assert c["CapacityUnits"] == 3.0
    # Changing the GSI key costs a delete and a put in that index.
    r = dynamo.update_item(TableName=table, Key={"user": {"S": "cap"}, "ts": {"N": "1"}},
                           UpdateExpression="SET kind = :k", ExpressionAttributeValues={":k": {"S": "buy"}},
                           ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"]["GlobalSecondaryIndexes"]["ByKind"]["CapacityUnits"] == 2.0
    r = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                     ExpressionAttributeValues={":k": {"S": "buy"}}, ReturnConsumedCapacity="INDEXES")
    assert r["ConsumedCapacity"]["GlobalSecondaryIndexes"]["ByKind"]["CapacityUnits"] == 0.5
    r = dynamo.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {
        "user": {"S": "cap"}, "ts": {"N": "2"}}}}], ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"][0]["CapacityUnits"] == 2.0  # transactions cost double
    r = dynamo.put_item(TableName=table, Item={"user": {"S": "cap"}, "ts": {"N": "3"}},
                        ReturnItemCollectionMetrics="SIZE")
    assert r["ItemCollectionMetrics"]["ItemCollectionKey"] == {"user": {"S": "cap"}}
    assert r["ItemCollectionMetrics"]["SizeEstimateRangeGB"] == [0.0, 1.0]


def test_exclusive_start_key_must_fit_the_key_condition(dynamo, table):
    def q(start, cond="#u = :u", values=None, **kw):
        return dynamo.query(TableName=table, KeyConditionExpression=cond, ExpressionAttributeNames={"#u": "user"},
                            ExpressionAttributeValues=values or {":u": {"S": "alice"}}, ExclusiveStartKey=start, **kw)

    def error(*args, **kw):
        with pytest.raises(ClientError) as e:
            q(*args, **kw)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]

    assert ts_list(q({"user": {"S": "alice"}, "ts": {"N": "17"}})["Items"]) == [18, 19, 20]
    assert error({"user": {"S": "bob"}, "ts": {"N": "17"}}) == (
        "The provided starting key is outside query boundaries based on provided condition")
    assert error({"user": {"S": "alice"}, "ts": {"N": "3"}}, "#u = :u AND ts > :t",
                 {":u": {"S": "alice"}, ":t": {"N": "5"}}) == (
        "The provided starting key does not match the range key predicate")
    r = q({"user": {"S": "alice"}, "ts": {"N": "7"}}, "#u = :u AND ts > :t", {":u": {"S": "alice"}, ":t": {"N": "5"}})
    assert ts_list(r["Items"]) == list(range(8, 21))
    # On an index: the index's partition key decides.
    r = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                     ExpressionAttributeValues={":k": {"S": "click"}}, Limit=2)
    start = r["LastEvaluatedKey"]
    r2 = dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                      ExpressionAttributeValues={":k": {"S": "click"}}, ExclusiveStartKey=start)
    assert r2["Count"] == 12 - 2
    with pytest.raises(ClientError) as e:
        dynamo.query(TableName=table, IndexName="ByKind", KeyConditionExpression="kind = :k",
                     ExpressionAttributeValues={":k": {"S": "view"}}, ExclusiveStartKey=start)
    assert "outside query boundaries" in e.value.response["Error"]["Message"]
