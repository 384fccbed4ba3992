"""DynamoDB Streams through boto3's dynamodbstreams client, against the server's change log."""
import time

import pymongo
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import dynamo_client


@pytest.fixture
def server(start_amalgamd):
    return start_amalgamd("--ttl-interval-ms", "100")


@pytest.fixture
def ddb(server):
    return dynamo_client(server)


@pytest.fixture
def streams(server):
    import boto3
    return boto3.client(
        "dynamodbstreams", endpoint_url=f"http://127.0.0.1:{server.ports['dynamo']}",
        region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30))


def make_table(ddb, name, view):
    r = ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "N"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    return r["TableDescription"]["LatestStreamArn"]


def shard_of(streams, arn):
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert len(desc["Shards"]) == 1
    return desc["Shards"][0]["ShardId"]


def read_all(streams, arn, iterator_type="TRIM_HORIZON", limit=None, **kw):
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn),
                                    ShardIteratorType=iterator_type, **kw)["ShardIterator"]
    out = []
    for _ in range(1000):
        r = streams.get_records(ShardIterator=it, **({"Limit": limit} if limit else {}))
        out.extend(r["Records"])
        it = r["NextShardIterator"]
        if not r["Records"]:
            break
    return out, it


def write_sequence(ddb, name):
    k = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=name, Item={**k, "v": {"N": "1"}})
    ddb.update_item(TableName=name, Key=k, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName=name, Key=k)


@pytest.mark.parametrize("view", ["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
def test_every_view_type(ddb, streams, view):
    arn = make_table(ddb, "Tbl", view)
    assert ddb.describe_table(TableName="Tbl")["Table"]["LatestStreamArn"] == arn
    write_sequence(ddb, "Tbl")
    recs, _ = read_all(streams, arn)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    for r in recs:
        assert r["eventVersion"] == "1.1" and r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == "us-east-1" and r["eventID"]
        d = r["dynamodb"]
        assert d["Keys"] == key and d["StreamViewType"] == view and d["SizeBytes"] > 0
        assert d["ApproximateCreationDateTime"]
        assert "userIdentity" not in r
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    images = [(("NewImage" in r["dynamodb"]), ("OldImage" in r["dynamodb"])) for r in recs]
    new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    assert images == [(new, False), (new, old), (False, old)]
    if new:
        assert recs[1]["dynamodb"]["NewImage"] == {**key, "v": {"N": "2"}}
    if old:
        assert recs[1]["dynamodb"]["OldImage"] == {**key, "v": {"N": "1"}}
        assert recs[2]["dynamodb"]["OldImage"] == {**key, "v": {"N": "2"}}


def test_every_iterator_type(ddb, streams):
    arn = make_table(ddb, "Tbl", "NEW_IMAGE")
    write_sequence(ddb, "Tbl")
    recs, _ = read_all(streams, arn)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    shard = shard_of(streams, arn)
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["TableName"] == "Tbl"
    assert desc["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"] == seqs[0]
    at, _ = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seqs[1])
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seqs[1:]
    after, _ = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[1])
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seqs[2:]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    ddb.put_item(TableName="Tbl", Item={"pk": {"S": "b"}, "sk": {"N": "2"}})
    got = streams.get_records(ShardIterator=latest)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in got] == [("INSERT", "b")]
    # The iterator returned at the end of a read carries on from there.
    _, it = read_all(streams, arn)
    ddb.put_item(TableName="Tbl", Item={"pk": {"S": "c"}, "sk": {"N": "3"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=it)["Records"]] == ["c"]


def test_pagination_and_per_key_order(ddb, streams):
    arn = make_table(ddb, "Tbl", "NEW_IMAGE")
    other = make_table(ddb, "Other", "KEYS_ONLY")
    for i in range(120):
        ddb.put_item(TableName="Tbl", Item={"pk": {"S": f"k{i % 3}"}, "sk": {"N": "0"}, "n": {"N": str(i)}})
        ddb.put_item(TableName="Other", Item={"pk": {"S": "x"}, "sk": {"N": str(i)}})
    recs, _ = read_all(streams, arn, limit=7)
    assert len(recs) == 120
    for k in range(3):
        ns = [int(r["dynamodb"]["NewImage"]["n"]["N"]) for r in recs if r["dynamodb"]["Keys"]["pk"]["S"] == f"k{k}"]
        assert ns == list(range(k, 120, 3))
    assert [r["eventName"] for r in recs[:3]] == ["INSERT"] * 3 and {r["eventName"] for r in recs[3:]} == {"MODIFY"}
    assert len(read_all(streams, other)[0]) == 120
    listed = streams.list_streams()["Streams"]
    assert sorted(s["TableName"] for s in listed) == ["Other", "Tbl"]
    page = streams.list_streams(Limit=1)
    assert len(page["Streams"]) == 1 and "LastEvaluatedStreamArn" in page
    rest = streams.list_streams(ExclusiveStartStreamArn=page["LastEvaluatedStreamArn"])
    assert len(rest["Streams"]) == 1 and "LastEvaluatedStreamArn" not in rest
    assert streams.list_streams(TableName="Tbl")["Streams"][0]["StreamArn"] == arn


def test_write_that_changes_nothing_has_no_record(ddb, streams):
    arn = make_table(ddb, "Tbl", "NEW_AND_OLD_IMAGES")
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}}
    ddb.put_item(TableName="Tbl", Item=item)
    ddb.put_item(TableName="Tbl", Item=item)
    ddb.update_item(TableName="Tbl", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "1"}})
    ddb.delete_item(TableName="Tbl", Key={"pk": {"S": "zz"}, "sk": {"N": "1"}})
    recs, _ = read_all(streams, arn)
    assert [r["eventName"] for r in recs] == ["INSERT"]


def test_mongo_update_shows_as_modify(ddb, streams, server):
    arn = make_table(ddb, "Tbl", "NEW_AND_OLD_IMAGES")
    ddb.put_item(TableName="Tbl", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}})
    c = pymongo.MongoClient("127.0.0.1", server.ports["mongo"], serverSelectionTimeoutMS=5000)
    try:
        c["dynamodb"]["Tbl"].update_one({"pk": "a"}, {"$set": {"v": "y"}})
    finally:
        c.close()
    recs, _ = read_all(streams, arn)
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY"]
    assert recs[1]["dynamodb"]["NewImage"]["v"] == {"S": "y"}
    assert recs[1]["dynamodb"]["OldImage"]["v"] == {"S": "x"}


def test_ttl_deletions_carry_the_service_identity(ddb, streams):
    arn = make_table(ddb, "Tbl", "OLD_IMAGE")
    ddb.update_time_to_live(TableName="Tbl", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.put_item(TableName="Tbl", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "exp": {"N": str(int(time.time()) - 5)}})
    deadline = time.monotonic() + 5
    while ddb.scan(TableName="Tbl")["Items"] and time.monotonic() < deadline:
        time.sleep(0.05)
    recs, _ = read_all(streams, arn)
    assert [r["eventName"] for r in recs] == ["INSERT", "REMOVE"]
    assert recs[1]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert recs[1]["dynamodb"]["OldImage"]["exp"]["N"]


def test_errors(ddb, streams):
    arn = make_table(ddb, "Tbl", "KEYS_ONLY")
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn.replace("/stream/", "/stream/x"))
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # An iterator issued more than 15 minutes ago (its issue time is part of its text).
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn),
                                    ShardIteratorType="LATEST")["ShardIterator"]
    parts = it.split("|")
    parts[-1] = str(int(parts[-1]) - 16 * 60 * 1000)
    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator="|".join(parts))
    assert e.value.response["Error"]["Code"] == "ExpiredIteratorException"


def starting_seq(streams, arn):
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    return desc["Shards"][0]["SequenceNumberRange"].get("StartingSequenceNumber")


def test_starting_sequence_number_follows_the_log(ddb, streams):
    # DescribeStream remembers how far it looked for the stream's first record: the answer must
    # stay right as the log grows with other tables' writes before and after that record.
    arn = make_table(ddb, "Quiet", "KEYS_ONLY")
    ddb.create_table(TableName="Busy", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    # No record yet: the range starts at the next sequence number of the log.
    empty_start = int(starting_seq(streams, arn))
    for i in range(30):
        ddb.put_item(TableName="Busy", Item={"pk": {"S": str(i)}})
    assert int(starting_seq(streams, arn)) >= empty_start + 30
    ddb.put_item(TableName="Quiet", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    for i in range(30):
        ddb.put_item(TableName="Busy", Item={"pk": {"S": "x" + str(i)}})
    ddb.put_item(TableName="Quiet", Item={"pk": {"S": "b"}, "sk": {"N": "1"}})
    recs, _ = read_all(streams, arn)
    assert len(recs) == 2
    first = recs[0]["dynamodb"]["SequenceNumber"]
    assert starting_seq(streams, arn) == first
    assert starting_seq(streams, arn) == first


def test_reading_past_retention_is_trimmed_data_access(start_amalgamd):
    srv = start_amalgamd("--change-log-retention", "1")
    ddb = dynamo_client(srv)
    import boto3
    streams = boto3.client(
        "dynamodbstreams", endpoint_url=f"http://127.0.0.1:{srv.ports['dynamo']}", region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    arn = make_table(ddb, "Tbl", "KEYS_ONLY")
    ddb.put_item(TableName="Tbl", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    shard = shard_of(streams, arn)
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seq = streams.get_records(ShardIterator=it)["Records"][0]["dynamodb"]["SequenceNumber"]
    deadline = time.monotonic() + 10
    code = None
    while time.monotonic() < deadline:
        ddb.put_item(TableName="Tbl", Item={"pk": {"S": "b"}, "sk": {"N": "1"}, "t": {"N": str(time.time())}})
        try:
            streams.get_records(ShardIterator=it)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            break
        time.sleep(0.2)
    assert code == "TrimmedDataAccessException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                   SequenceNumber=seq)
    assert e.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    # The stream's first retained record has moved past the trimmed one.
    start = starting_seq(streams, arn)
    assert start is not None and int(start) > int(seq)


def read_closed(streams, arn, limit=None):
    """Reads a closed shard from TRIM_HORIZON until GetRecords stops handing out iterators."""
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn),
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out = []
    for _ in range(100):
        r = streams.get_records(ShardIterator=it, **({"Limit": limit} if limit else {}))
        out.extend(r["Records"])
        if "NextShardIterator" not in r:
            return out
        it = r["NextShardIterator"]
    raise AssertionError("a closed shard kept handing out iterators")


def put(ddb, table, pk, sk=1):
    ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"N": str(sk)}})


def test_disabled_stream_stays_readable_and_reenabling_makes_a_new_one(ddb, streams):
    arn = make_table(ddb, "Tbl", "NEW_AND_OLD_IMAGES")
    put(ddb, "Tbl", "a")
    put(ddb, "Tbl", "b")
    ddb.update_table(TableName="Tbl", StreamSpecification={"StreamEnabled": False})
    put(ddb, "Tbl", "c")  # after the disable: in no stream
    desc = ddb.describe_table(TableName="Tbl")["Table"]
    assert "StreamSpecification" not in desc and desc["LatestStreamArn"] == arn

    listed = streams.list_streams(TableName="Tbl")["Streams"]
    assert [s["StreamArn"] for s in listed] == [arn]
    d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED" and d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    rng = d["Shards"][0]["SequenceNumberRange"]
    assert "EndingSequenceNumber" in rng and int(rng["StartingSequenceNumber"]) <= int(rng["EndingSequenceNumber"])

    recs = read_closed(streams, arn, limit=1)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in recs] == [("INSERT", "a"), ("INSERT", "b")]
    assert all(int(r["dynamodb"]["SequenceNumber"]) <= int(rng["EndingSequenceNumber"]) for r in recs)
    assert recs[0]["dynamodb"]["NewImage"]["pk"] == {"S": "a"}
    # LATEST on a closed shard: nothing, and no next iterator.
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn),
                                    ShardIteratorType="LATEST")["ShardIterator"]
    r = streams.get_records(ShardIterator=it)
    assert r["Records"] == [] and "NextShardIterator" not in r
    # An iterator taken while the stream was open ends at the close too.
    seq = recs[0]["dynamodb"]["SequenceNumber"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_of(streams, arn),
                                    ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)["ShardIterator"]
    r = streams.get_records(ShardIterator=it)
    assert [x["dynamodb"]["Keys"]["pk"]["S"] for x in r["Records"]] == ["b"]

    # Disabling again is refused; re-enabling makes a new stream.
    with pytest.raises(ClientError) as e:
        ddb.update_table(TableName="Tbl", StreamSpecification={"StreamEnabled": False})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    new = ddb.update_table(TableName="Tbl", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    new_arn = new["TableDescription"]["LatestStreamArn"]
    assert new_arn != arn
    put(ddb, "Tbl", "d")
    assert sorted(s["StreamArn"] for s in streams.list_streams(TableName="Tbl")["Streams"]) == sorted([arn, new_arn])
    assert streams.describe_stream(StreamArn=new_arn)["StreamDescription"]["StreamStatus"] == "ENABLED"
    new_recs, _ = read_all(streams, new_arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in new_recs] == ["d"]
    assert "NewImage" not in new_recs[0]["dynamodb"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_closed(streams, arn)] == ["a", "b"]
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    # The new stream closing leaves both readable, each with its own records.
    ddb.update_table(TableName="Tbl", StreamSpecification={"StreamEnabled": False})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_closed(streams, new_arn)] == ["d"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_closed(streams, arn)] == ["a", "b"]


def test_deleted_tables_stream_stays_readable(ddb, streams, server, start_amalgamd):
    arn = make_table(ddb, "Gone", "OLD_IMAGE")
    put(ddb, "Gone", "a")
    ddb.delete_item(TableName="Gone", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.delete_table(TableName="Gone")
    listed = streams.list_streams()["Streams"]
    assert [(s["StreamArn"], s["TableName"]) for s in listed] == [(arn, "Gone")]
    d = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert d["StreamStatus"] == "DISABLED" and d["TableName"] == "Gone"
    assert "EndingSequenceNumber" in d["Shards"][0]["SequenceNumberRange"]
    recs = read_closed(streams, arn)
    assert [r["eventName"] for r in recs] == ["INSERT", "REMOVE"]
    assert recs[1]["dynamodb"]["OldImage"]["pk"] == {"S": "a"}
    # A new table of the same name has a stream of its own; the old one stays listed.
    new_arn = make_table(ddb, "Gone", "KEYS_ONLY")
    assert new_arn != arn
    put(ddb, "Gone", "b")
    assert sorted(s["StreamArn"] for s in streams.list_streams(TableName="Gone")["Streams"]) == sorted([arn, new_arn])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, new_arn)[0]] == ["b"]
    assert [r["eventName"] for r in read_closed(streams, arn)] == ["INSERT", "REMOVE"]

    # Closed streams survive a restart.
    server.stop()
    again = start_amalgamd("--ttl-interval-ms", "100", data_dir=server.data_dir)
    import boto3
    streams2 = boto3.client(
        "dynamodbstreams", endpoint_url=f"http://127.0.0.1:{again.ports['dynamo']}", region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    assert streams2.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert [r["eventName"] for r in read_closed(streams2, arn)] == ["INSERT", "REMOVE"]


def test_closed_stream_goes_when_retention_removes_its_records(start_amalgamd):
    srv = start_amalgamd("--change-log-retention", "1")
    ddb = dynamo_client(srv)
    import boto3
    streams = boto3.client(
        "dynamodbstreams", endpoint_url=f"http://127.0.0.1:{srv.ports['dynamo']}", region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    arn = make_table(ddb, "Tbl", "KEYS_ONLY")
    put(ddb, "Tbl", "a")
    ddb.delete_table(TableName="Tbl")
    assert [s["StreamArn"] for s in streams.list_streams()["Streams"]] == [arn]
    deadline = time.monotonic() + 10
    while streams.list_streams()["Streams"] and time.monotonic() < deadline:
        ddb.list_tables()  # something to do while the retention pass runs
        time.sleep(0.2)
    assert streams.list_streams()["Streams"] == []
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
