"""Parallel Scan (Segment / TotalSegments) through boto3: each segment reads its own contiguous
part of the table (model/scan_segments.h); segments are disjoint, cover the table, and keep
their boundaries across pages so ExclusiveStartKey works within a segment."""
import pytest
from botocore.exceptions import ClientError

from conftest import dynamo_request


def make_table(dynamo, name="Seg", n=300, sort=False):
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "N"})
    dynamo.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema,
                        AttributeDefinitions=attrs)
    keys = set()
    for i in range(n):
        pk = f"user#{i // 5 if sort else i:05d}"
        item = {"pk": {"S": pk}, "v": {"N": str(i)}}
        if sort:
            item["sk"] = {"N": str(i % 5)}
        dynamo.put_item(TableName=name, Item=item)
        keys.add((pk, i % 5 if sort else None))
    return keys


def key_of(item):
    return (item["pk"]["S"], int(item["sk"]["N"]) if "sk" in item else None)


def scan_segment(dynamo, table, segment, total, page_size=None, pages=None):
    """All items of one segment, following LastEvaluatedKey (bounded)."""
    items, args = [], {"TableName": table, "Segment": segment, "TotalSegments": total}
    if page_size:
        args["Limit"] = page_size
    for _ in range(1000):
        r = dynamo.scan(**args)
        items += r["Items"]
        if pages is not None:
            pages.append(r)
        if "LastEvaluatedKey" not in r:
            return items
        args["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    pytest.fail("segment scan did not finish in 1000 pages")


@pytest.mark.parametrize("sort", [False, True])
def test_segments_are_disjoint_and_cover_the_table(dynamo, sort):
    keys = make_table(dynamo, sort=sort)
    for total in (1, 2, 3, 4, 7, 16):
        parts = [[key_of(i) for i in scan_segment(dynamo, "Seg", s, total)] for s in range(total)]
        flat = [k for p in parts for k in p]
        assert len(flat) == len(set(flat)) == len(keys), total
        assert set(flat) == keys
        if total <= 4:
            # Split points are sampled from the data: every segment gets a fair share.
            for p in parts:
                assert len(keys) / total / 2 < len(p) < len(keys) / total * 2, (total, [len(p) for p in parts])


def test_pagination_within_a_segment(dynamo):
    keys = make_table(dynamo)
    union = []
    for s in range(4):
        whole = [key_of(i) for i in scan_segment(dynamo, "Seg", s, 4)]
        pages = []
        paged = [key_of(i) for i in scan_segment(dynamo, "Seg", s, 4, page_size=7, pages=pages)]
        assert paged == whole  # same items, same order, no repeats
        assert len(pages) >= len(whole) // 7
        assert all(p["ScannedCount"] <= 7 for p in pages)
        union += paged
    assert sorted(union) == sorted(keys)
    # The boto3 paginator with a page size and a filter.
    got = []
    for page in dynamo.get_paginator("scan").paginate(
            TableName="Seg", Segment=1, TotalSegments=3, FilterExpression="v >= :z",
            ExpressionAttributeValues={":z": {"N": "0"}}, PaginationConfig={"PageSize": 11}):
        got += [key_of(i) for i in page["Items"]]
    assert got == [key_of(i) for i in scan_segment(dynamo, "Seg", 1, 3)]


def test_exclusive_start_key_must_belong_to_the_segment(dynamo):
    make_table(dynamo, n=100)
    r = dynamo.scan(TableName="Seg", Segment=1, TotalSegments=4, Limit=3)
    key = r["LastEvaluatedKey"]
    assert dynamo.scan(TableName="Seg", Segment=1, TotalSegments=4, ExclusiveStartKey=key)["Count"] > 0
    with pytest.raises(ClientError) as e:
        dynamo.scan(TableName="Seg", Segment=2, TotalSegments=4, ExclusiveStartKey=key)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["Error"]["Message"] == (
        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with "
        "correct Segment. TotalSegments: 4 Segment: 2")
    # Without segments, any key is a starting point.
    assert dynamo.scan(TableName="Seg", ExclusiveStartKey=key)["Count"] > 0


def test_writes_during_a_parallel_scan_do_not_move_boundaries(dynamo):
    keys = make_table(dynamo, n=200)
    seen = []
    for s in range(4):
        r = dynamo.scan(TableName="Seg", Segment=s, TotalSegments=4, Limit=10)
        seen += [key_of(i) for i in r["Items"]]
        # Between pages, the table changes a lot: new keys everywhere, some old ones deleted.
        for i in range(50):
            dynamo.put_item(TableName="Seg", Item={"pk": {"S": f"user#{i:05d}x{s}"}, "v": {"N": "0"}})
        args = {"TableName": "Seg", "Segment": s, "TotalSegments": 4, "ExclusiveStartKey": r["LastEvaluatedKey"]}
        for _ in range(100):
            r = dynamo.scan(**args)
            seen += [key_of(i) for i in r["Items"]]
            if "LastEvaluatedKey" not in r:
                break
            args["ExclusiveStartKey"] = r["LastEvaluatedKey"]
    assert len(seen) == len(set(seen))  # nothing twice
    assert keys <= set(seen)  # every item present for the whole scan was returned


def test_many_segments_and_index_and_count(dynamo):
    keys = make_table(dynamo, n=50)
    total = 1000000
    found = []
    for s in (0, 1, 2, total // 2, total - 2, total - 1):
        found += [key_of(i) for i in scan_segment(dynamo, "Seg", s, total)]
    assert len(found) == len(set(found))
    # With far more segments than items, most segments are empty; sampled ones hold an item each.
    counts = [dynamo.scan(TableName="Seg", Segment=s, TotalSegments=100, Select="COUNT")["Count"] for s in range(100)]
    assert sum(counts) == len(keys) and max(counts) <= 2


def test_segment_validation(dynamo, amalgamd):
    make_table(dynamo, n=3)

    def err(**kw):
        with pytest.raises(ClientError) as e:
            dynamo.scan(TableName="Seg", **kw)
        assert e.value.response["Error"]["Code"] == "ValidationException"
        return e.value.response["Error"]["Message"]

    assert err(Segment=4, TotalSegments=4) == (
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
        "Segment: 4 is not less than TotalSegments: 4")
    assert "TotalSegments parameter is required" in err(Segment=0)
    assert "Segment parameter is required" in err(TotalSegments=2)
    # Out of range values, sent raw (botocore checks some ranges itself).
    for payload, member in (({"Segment": 0, "TotalSegments": 1000001}, "totalSegments"),
                            ({"Segment": 0, "TotalSegments": 0}, "totalSegments"),
                            ({"Segment": -1, "TotalSegments": 2}, "segment")):
        status, body = dynamo_request(amalgamd, "Scan", {"TableName": "Seg", **payload})
        assert status == 400 and body["__type"].endswith("#ValidationException"), body
        assert member in body["message"], body
    status, body = dynamo_request(amalgamd, "Scan", {"TableName": "Seg", "Segment": 0, "TotalSegments": 1})
    assert status == 200 and body["Count"] == 3


def test_larger_table_segments_balance(dynamo):
    """10 MB in 7000 items written in shuffled key order: segments are disjoint, complete and
    balanced. (Tables over 64 MiB take split points from storage's size estimates instead of a
    pass over the keys; any split points give disjoint, complete segments.)"""
    dynamo.create_table(TableName="Large", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    n, pad = 7000, "x" * 1500
    for start in range(0, n, 25):
        dynamo.batch_write_item(RequestItems={"Large": [
            {"PutRequest": {"Item": {"pk": {"S": f"key{i * 7919 % n:06d}"}, "pad": {"S": pad}}}}
            for i in range(start, min(n, start + 25))]})
    total = 8
    sizes, seen = [], set()
    for s in range(total):
        args = {"TableName": "Large", "Segment": s, "TotalSegments": total, "ProjectionExpression": "pk"}
        count = 0
        for _ in range(1000):
            r = dynamo.scan(**args)
            for item in r["Items"]:
                assert item["pk"]["S"] not in seen
                seen.add(item["pk"]["S"])
            count += r["Count"]
            if "LastEvaluatedKey" not in r:
                break
            args["ExclusiveStartKey"] = r["LastEvaluatedKey"]
        sizes.append(count)
    assert len(seen) == n, sizes
    assert all(n / total / 2 < c < n / total * 2 for c in sizes), sizes
