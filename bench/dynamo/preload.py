"""Creates the table `bench` (pk S, sk N) on one DynamoDB endpoint and writes PARTITIONS x 10
items of about 200 bytes each, the same items on every server, so that GetItem, UpdateItem and
the 10-item Query of bench/dynamo/dynamo.lua find what they ask for.
Usage: /usr/bin/python3 bench/dynamo/preload.py ENDPOINT_URL [PARTITIONS]"""
import sys
import time

import boto3
from botocore.config import Config


def main() -> None:
    url = sys.argv[1]
    parts = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    client = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench",
                          config=Config(retries={"max_attempts": 1}))
    client.create_table(TableName="bench",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}],
                        BillingMode="PAY_PER_REQUEST")
    deadline = time.monotonic() + 30
    while client.describe_table(TableName="bench")["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            sys.exit("preload: table bench did not become ACTIVE within 30 s")
        time.sleep(0.05)
    payload = "x" * 150
    batch = []
    for p in range(parts):
        for s in range(10):
            batch.append({"PutRequest": {"Item": {"pk": {"S": f"p{p}"}, "sk": {"N": str(s)},
                                                  "payload": {"S": payload},
                                                  "counter": {"N": "0"}}}})
            if len(batch) == 25:
                write(client, batch)
                batch = []
    if batch:
        write(client, batch)
    got = client.get_item(TableName="bench", Key={"pk": {"S": f"p{parts - 1}"}, "sk": {"N": "9"}})
    if "Item" not in got:
        sys.exit("preload: the last item written is not readable")


def write(client, batch) -> None:
    for _ in range(50):
        unprocessed = client.batch_write_item(RequestItems={"bench": batch}).get("UnprocessedItems")
        if not unprocessed:
            return
        batch = unprocessed["bench"]
    sys.exit("preload: BatchWriteItem kept returning UnprocessedItems")


if __name__ == "__main__":
    main()
