"""DescribeTable's ItemCount / TableSizeBytes come from per-table figures refreshed in the
background (src/api/dynamo/table_stats.h), not from a scan per request: exact at the first
description of a small table, then up to the refresh interval stale, as DynamoDB's are."""
import time

from botocore.exceptions import ClientError  # noqa: F401  (kept for symmetry with other tests)


def create(dynamo, name, gsi=False):
    kw = {}
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if gsi:
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        kw["GlobalSecondaryIndexes"] = [{"IndexName": "ByG", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                         "Projection": {"ProjectionType": "KEYS_ONLY"}}]
    dynamo.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attrs, **kw)


def describe(dynamo, name):
    return dynamo.describe_table(TableName=name)["Table"]


def wait_for(pred, timeout=40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.5)
    return None


def test_first_description_is_exact_then_refreshed_in_the_background(dynamo):
    create(dynamo, "Stats", gsi=True)
    for i in range(5):
        dynamo.put_item(TableName="Stats", Item={"pk": {"S": f"k{i}"}, "v": {"S": "x" * 10},
                                                 **({"g": {"S": "a"}} if i < 2 else {})})
    t = describe(dynamo, "Stats")
    # Sizes DynamoDB's way: "pk"(2) + "k0"(2) + "v"(1) + 10 = 15, plus "g"(1) + "a"(1) for two items.
    assert t["ItemCount"] == 5 and t["TableSizeBytes"] == 5 * 15 + 2 * 2
    g = t["GlobalSecondaryIndexes"][0]
    assert g["ItemCount"] == 2 and g["IndexSizeBytes"] == 2 * (4 + 2)  # KEYS_ONLY: pk and g
    for i in range(5, 8):
        dynamo.put_item(TableName="Stats", Item={"pk": {"S": f"k{i}"}})
    # The figures are periodic, not live: the next description does not count again...
    assert describe(dynamo, "Stats")["ItemCount"] == 5
    # ...but a background recount brings them up to date within the refresh interval (10 s).
    assert wait_for(lambda: describe(dynamo, "Stats")["ItemCount"] == 8), describe(dynamo, "Stats")["ItemCount"]
    dynamo.delete_table(TableName="Stats")
    create(dynamo, "Stats")  # a new table of the same name starts from its own figures
    assert describe(dynamo, "Stats")["ItemCount"] == 0


def test_large_table_is_counted_in_the_background(dynamo):
    create(dynamo, "Big")
    n = 12000
    for start in range(0, n, 25):
        dynamo.batch_write_item(RequestItems={"Big": [
            {"PutRequest": {"Item": {"pk": {"S": f"item{i:06d}"}}}} for i in range(start, start + 25)]})
    first = describe(dynamo, "Big")["ItemCount"]
    assert 0 < first <= n  # a bounded first count: DescribeTable never walks the whole table
    assert wait_for(lambda: describe(dynamo, "Big")["ItemCount"] == n)
    started = time.monotonic()
    for _ in range(20):
        assert describe(dynamo, "Big")["ItemCount"] == n
    assert (time.monotonic() - started) / 20 < 0.05  # cached: no per-request scan
