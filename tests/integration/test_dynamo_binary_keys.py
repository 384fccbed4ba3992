"""Binary (B) sort keys order as DynamoDB orders them: unsigned bytewise, a prefix before its
extensions, on the table key and on GSI / LSI keys, for every sort-key condition, both
directions and across pages."""
import pytest

# Values chosen so that bytewise order differs from length-first order and from signed order.
VALUES = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x01\xff", b"\x7f", b"\x80", b"\x80\x00\x01", b"\xfe",
          b"\xff", b"\xff\x00", b"\xff\xff\xff", b"ab", b"abc", b"abd", b"b"]
KEYS = [v for v in VALUES if v]  # keys cannot be empty


@pytest.fixture
def table(dynamo):
    dynamo.create_table(
        TableName="Bin", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "B"},
                              {"AttributeName": "g", "AttributeType": "S"},
                              {"AttributeName": "gb", "AttributeType": "B"},
                              {"AttributeName": "lb", "AttributeType": "B"}],
        GlobalSecondaryIndexes=[{"IndexName": "GIdx", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                                 {"AttributeName": "gb", "KeyType": "RANGE"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[{"IndexName": "LIdx", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                                                {"AttributeName": "lb", "KeyType": "RANGE"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    for i, v in enumerate(KEYS):
        dynamo.put_item(TableName="Bin", Item={"pk": {"S": "p"}, "sk": {"B": v}, "g": {"S": "g"},
                                               "gb": {"B": v}, "lb": {"B": v}, "n": {"N": str(i)}})
        # Noise in other partitions, just below and above.
        dynamo.put_item(TableName="Bin", Item={"pk": {"S": "o"}, "sk": {"B": v}, "g": {"S": "h"}, "gb": {"B": v}})
    return "Bin"


CONDITIONS = [
    (None, None, lambda v: True),
    ("= :a", [b"\x80"], lambda v: v == b"\x80"),
    ("< :a", [b"\x80"], lambda v: v < b"\x80"),
    ("<= :a", [b"\x01\xff"], lambda v: v <= b"\x01\xff"),
    ("> :a", [b"\x7f"], lambda v: v > b"\x7f"),
    (">= :a", [b"ab"], lambda v: v >= b"ab"),
    ("BETWEEN :a AND :b", [b"\x00\x00", b"\xff"], lambda v: b"\x00\x00" <= v <= b"\xff"),
    ("begins_with", [b"ab"], lambda v: v.startswith(b"ab")),
    ("begins_with", [b"\xff"], lambda v: v.startswith(b"\xff")),
    ("begins_with", [b"\x00"], lambda v: v.startswith(b"\x00")),
]


def query(dynamo, index, hash_attr, hash_value, sort_attr, cond, operands, forward, limit=None):
    expr = f"{hash_attr} = :h"
    values = {":h": {"S": hash_value}}
    if cond == "begins_with":
        expr += f" AND begins_with({sort_attr}, :a)"
    elif cond:
        expr += f" AND {sort_attr} {cond}"
    for name, v in zip((":a", ":b"), operands or []):
        values[name] = {"B": v}
    args = {"TableName": "Bin", "KeyConditionExpression": expr, "ExpressionAttributeValues": values,
            "ScanIndexForward": forward}
    if index:
        args["IndexName"] = index
    if limit:
        args["Limit"] = limit
    out = []
    for _ in range(100):
        r = dynamo.query(**args)
        out += [bytes(i[sort_attr]["B"]) for i in r["Items"]]
        if "LastEvaluatedKey" not in r:
            return out
        args["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    pytest.fail("query did not finish in 100 pages")


@pytest.mark.parametrize("index,hash_attr,hash_value,sort_attr",
                         [(None, "pk", "p", "sk"), ("GIdx", "g", "g", "gb"), ("LIdx", "pk", "p", "lb")])
@pytest.mark.parametrize("cond,operands,pred", CONDITIONS)
def test_binary_sort_key_order(dynamo, table, index, hash_attr, hash_value, sort_attr, cond, operands, pred):
    expected = sorted(v for v in KEYS if pred(v))
    assert query(dynamo, index, hash_attr, hash_value, sort_attr, cond, operands, True) == expected
    assert query(dynamo, index, hash_attr, hash_value, sort_attr, cond, operands, False) == expected[::-1]
    # Across pages (ExclusiveStartKey from a LastEvaluatedKey with a B key).
    assert query(dynamo, index, hash_attr, hash_value, sort_attr, cond, operands, True, limit=2) == expected
    assert query(dynamo, index, hash_attr, hash_value, sort_attr, cond, operands, False, limit=3) == expected[::-1]
