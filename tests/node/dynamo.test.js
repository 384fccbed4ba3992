'use strict';
// The AWS SDK for JavaScript v3 (@aws-sdk/client-dynamodb and the lib-dynamodb document
// client) against one fresh amalgamd: tables, items, queries, batches, transactions, errors.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, ListTablesCommand, DeleteTableCommand,
  TransactionCanceledException, ConditionalCheckFailedException, ResourceNotFoundException,
} = require('@aws-sdk/client-dynamodb');
const {
  DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, DeleteCommand, QueryCommand,
  ScanCommand, BatchWriteCommand, BatchGetCommand, TransactWriteCommand, paginateQuery,
} = require('@aws-sdk/lib-dynamodb');
const amalgamd = require('./amalgamd');

let server;
let client;
let doc;

before(async () => {
  server = await amalgamd.start();
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.ports.dynamo}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  await client.send(new CreateTableCommand({
    TableName: 'Orders',
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }, { AttributeName: 'orderId', KeyType: 'RANGE' }],
    AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' },
      { AttributeName: 'orderId', AttributeType: 'N' }],
  }));
});

after(async () => {
  if (client) client.destroy();
  if (server) await server.stop();
});

describe('DynamoDB through the AWS SDK for JavaScript v3', () => {
  it('describes and lists tables', async () => {
    const d = await client.send(new DescribeTableCommand({ TableName: 'Orders' }));
    assert.equal(d.Table.TableStatus, 'ACTIVE');
    assert.equal(d.Table.KeySchema[1].AttributeName, 'orderId');
    const l = await client.send(new ListTablesCommand({}));
    assert.deepEqual(l.TableNames, ['Orders']);
  });

  it('round-trips native JavaScript values through the document client', async () => {
    const item = {
      customer: 'ana', orderId: 1, total: 12.5, paid: true, note: null,
      lines: [{ sku: 'a', qty: 2 }], tags: new Set(['gift', 'rush']),
    };
    await doc.send(new PutCommand({ TableName: 'Orders', Item: item }));
    const got = await doc.send(new GetCommand({ TableName: 'Orders', Key: { customer: 'ana', orderId: 1 } }));
    assert.deepEqual(got.Item, item);
  });

  it('updates with expressions and conditions', async () => {
    const r = await doc.send(new UpdateCommand({
      TableName: 'Orders', Key: { customer: 'ana', orderId: 1 },
      UpdateExpression: 'SET #t = #t + :d, #s = :s', ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
      ExpressionAttributeValues: { ':d': 7.5, ':s': 'shipped' }, ReturnValues: 'UPDATED_NEW',
    }));
    assert.deepEqual(r.Attributes, { total: 20, status: 'shipped' });
    await assert.rejects(doc.send(new PutCommand({
      TableName: 'Orders', Item: { customer: 'ana', orderId: 1 }, ConditionExpression: 'attribute_not_exists(orderId)',
    })), (e) => e instanceof ConditionalCheckFailedException && e.name === 'ConditionalCheckFailedException');
  });

  it('queries a partition in order and paginates', async () => {
    const writes = [];
    for (let i = 2; i <= 30; i++) writes.push({ PutRequest: { Item: { customer: 'ana', orderId: i, total: i } } });
    for (let i = 0; i < writes.length; i += 25) {
      const r = await doc.send(new BatchWriteCommand({ RequestItems: { Orders: writes.slice(i, i + 25) } }));
      assert.deepEqual(r.UnprocessedItems, {});
    }
    const q = await doc.send(new QueryCommand({
      TableName: 'Orders', KeyConditionExpression: 'customer = :c AND orderId BETWEEN :a AND :b',
      ExpressionAttributeValues: { ':c': 'ana', ':a': 5, ':b': 9 }, ScanIndexForward: false,
    }));
    assert.deepEqual(q.Items.map((i) => i.orderId), [9, 8, 7, 6, 5]);
    const ids = [];
    for await (const page of paginateQuery({ client: doc, pageSize: 7 }, {
      TableName: 'Orders', KeyConditionExpression: 'customer = :c', ExpressionAttributeValues: { ':c': 'ana' },
    })) {
      ids.push(...page.Items.map((i) => i.orderId));
    }
    assert.deepEqual(ids, Array.from({ length: 30 }, (_, i) => i + 1));
    const s = await doc.send(new ScanCommand({ TableName: 'Orders', Select: 'COUNT' }));
    assert.equal(s.Count, 30);
    const g = await doc.send(new BatchGetCommand({
      RequestItems: { Orders: { Keys: [{ customer: 'ana', orderId: 3 }, { customer: 'ana', orderId: 4 }] } },
    }));
    assert.equal(g.Responses.Orders.length, 2);
  });

  it('runs transactions with positional cancellation reasons', async () => {
    await doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'Orders', Item: { customer: 'bo', orderId: 1, total: 5 } } },
        { Delete: { TableName: 'Orders', Key: { customer: 'ana', orderId: 30 } } },
      ],
    }));
    await assert.rejects(doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'Orders', Item: { customer: 'bo', orderId: 2 } } },
        { ConditionCheck: { TableName: 'Orders', Key: { customer: 'bo', orderId: 1 },
          ConditionExpression: '#t > :t', ExpressionAttributeNames: { '#t': 'total' },
          ExpressionAttributeValues: { ':t': 100 } } },
      ],
    })), (e) => e instanceof TransactionCanceledException &&
      e.CancellationReasons.map((r) => r.Code).join() === 'None,ConditionalCheckFailed');
    const missing = await doc.send(new GetCommand({ TableName: 'Orders', Key: { customer: 'bo', orderId: 2 } }));
    assert.equal(missing.Item, undefined);
    await doc.send(new DeleteCommand({ TableName: 'Orders', Key: { customer: 'bo', orderId: 1 } }));
  });

  it('maps errors to the SDK exception classes', async () => {
    await assert.rejects(client.send(new DescribeTableCommand({ TableName: 'Missing' })),
      (e) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 400);
    await assert.rejects(doc.send(new GetCommand({ TableName: 'Orders', Key: { customer: 'ana' } })),
      (e) => e.name === 'ValidationException' && /does not match the schema/.test(e.message));
    await client.send(new DeleteTableCommand({ TableName: 'Orders' }));
  });
});
