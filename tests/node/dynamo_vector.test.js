'use strict';
// DynamoDB vector search through the AWS SDK for JavaScript v3 (CreateTable.VectorIndexes,
// DescribeTable.VectorIndexes, SearchVectors) against one fresh amalgamd, results checked
// against a brute force computed here; and the same engine index through the MongoDB driver's
// $vectorSearch on dynamodb.<Table>.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, PutItemCommand, SearchVectorsCommand, UpdateTableCommand,
  ResourceNotFoundException,
} = require('@aws-sdk/client-dynamodb');
const { MongoClient } = require('mongodb');
const amalgamd = require('./amalgamd');

const DIMS = 8;
const N = 300;
const COLORS = ['red', 'green', 'blue'];
let server;
let client;
let mongo;
const items = [];

// Deterministic pseudo-random numbers (mulberry32), rounded to 4 decimals so that the N text
// and the float32 the index keeps are close.
function rng(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(42);
const vec = () => Array.from({ length: DIMS }, () => Math.round((rand() * 2 - 1) * 1e4) / 1e4);
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a) => Math.sqrt(dot(a, a));
const SCORE = {
  COSINE: (q, v) => 1 - dot(q, v) / (norm(q) * norm(v)),
  EUCLIDEAN: (q, v) => Math.sqrt(q.reduce((s, x, i) => s + (x - v[i]) ** 2, 0)),
  DOT_PRODUCT: (q, v) => dot(q, v),
};
function bruteForce(fn, q, k, pred = () => true) {
  const scored = items.filter(pred).map((it) => ({ id: it.id, score: SCORE[fn](q, it.v) }));
  scored.sort((a, b) => (fn === 'DOT_PRODUCT' ? b.score - a.score : a.score - b.score));
  return scored.slice(0, k);
}
const L = (v) => ({ L: v.map((x) => ({ N: String(x) })) });
const INDEXES = { COSINE: 'by_cos', EUCLIDEAN: 'by_l2', DOT_PRODUCT: 'by_dot' };

before(async () => {
  server = await amalgamd.start();
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${server.ports.dynamo}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  await client.send(new CreateTableCommand({
    TableName: 'Docs',
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'color', AttributeType: 'S' }],
    VectorIndexes: Object.entries(INDEXES).map(([fn, name]) => ({
      IndexName: name,
      VectorAttribute: { AttributeName: 'emb' },
      Dimensions: DIMS,
      DistanceFunction: fn,
      Projection: { ProjectionType: 'ALL' },
      SearchSchema: [{ AttributeName: 'color', SearchSchemaElementType: 'INLINE_FILTER' }],
    })),
  }));
  for (let i = 0; i < N; i++) {
    const it = { id: `p${i}`, v: vec(), color: COLORS[i % 3] };
    items.push(it);
    await client.send(new PutItemCommand({
      TableName: 'Docs', Item: { pk: { S: it.id }, emb: L(it.v), color: { S: it.color }, n: { N: String(i) } },
    }));
  }
  mongo = new MongoClient(`mongodb://127.0.0.1:${server.ports.mongo}/?directConnection=true`, {
    serverSelectionTimeoutMS: 5000,
  });
  await mongo.connect();
});

after(async () => {
  if (mongo) await mongo.close();
  if (client) client.destroy();
  if (server) await server.stop();
});

function checkAgainst(expected, got, fn) {
  assert.equal(got.length, expected.length);
  // Same items in the same order (ties aside), scores equal up to float32 storage of vectors.
  const tol = 1e-4;
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(got[i].Score - expected[i].score) <= tol * Math.max(1, Math.abs(expected[i].score)),
      `${fn} result ${i}: score ${got[i].Score} vs ${expected[i].score}`);
  }
  assert.deepEqual(got.map((r) => r.Item.pk.S).sort(), expected.map((e) => e.id).sort());
}

describe('DynamoDB vector search through the AWS SDK for JavaScript v3', () => {
  it('describes the vector indexes', async () => {
    const d = await client.send(new DescribeTableCommand({ TableName: 'Docs' }));
    const v = d.Table.VectorIndexes;
    assert.equal(v.length, 3);
    const cos = v.find((x) => x.IndexName === 'by_cos');
    assert.equal(cos.DistanceFunction, 'COSINE');
    assert.equal(cos.Dimensions, DIMS);
    assert.equal(cos.VectorAttribute.AttributeName, 'emb');
    assert.deepEqual(cos.SearchSchema, [{ AttributeName: 'color', SearchSchemaElementType: 'INLINE_FILTER' }]);
    assert.equal(cos.Projection.ProjectionType, 'ALL');
    assert.ok(['ACTIVE', 'CREATING'].includes(cos.IndexStatus));
    assert.ok(cos.Backfilling === undefined || (cos.Backfilling === true && cos.IndexStatus === 'CREATING'));
    assert.equal(typeof cos.IndexSizeBytes, 'number');
    assert.equal(typeof cos.ItemCount, 'number');
    assert.match(cos.IndexArn, /table\/Docs\/index\/by_cos$/);
  });

  for (const fn of Object.keys(INDEXES)) {
    it(`returns the brute-force top 10 for ${fn} with DynamoDB's score`, async () => {
      for (let t = 0; t < 5; t++) {
        const q = vec();
        const r = await client.send(new SearchVectorsCommand({
          TableName: 'Docs', IndexName: INDEXES[fn], SearchVector: q.map((x) => ({ N: String(x) })), TopK: 10,
        }));
        checkAgainst(bruteForce(fn, q, 10), r.SearchResults, fn);
        assert.ok(r.SearchResults[0].Item.emb.L.length === DIMS);
      }
    });
  }

  it('filters with SearchConditionExpression and projects', async () => {
    const q = vec();
    const r = await client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_l2', SearchVector: q.map((x) => ({ N: String(x) })), TopK: 7,
      SearchConditionExpression: '#c = :c', ExpressionAttributeNames: { '#c': 'color' },
      ExpressionAttributeValues: { ':c': { S: 'blue' } }, ProjectionExpression: 'pk, color',
    }));
    checkAgainst(bruteForce('EUCLIDEAN', q, 7, (it) => it.color === 'blue'), r.SearchResults, 'EUCLIDEAN');
    assert.equal(r.ConsumedCapacity, undefined);
    const c = await client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_l2', SearchVector: q.map((x) => ({ N: String(x) })), TopK: 2,
      ReturnConsumedCapacity: 'TOTAL',
    }));
    assert.ok(c.ConsumedCapacity.VectorSearchRequestBytes > 0);
    for (const res of r.SearchResults) assert.deepEqual(Object.keys(res.Item).sort(), ['color', 'pk']);
  });

  it('sees a write at once', async () => {
    const q = vec();
    await client.send(new PutItemCommand({ TableName: 'Docs', Item: { pk: { S: 'fresh' }, emb: L(q), color: { S: 'red' } } }));
    const r = await client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_cos', SearchVector: q.map((x) => ({ N: String(x) })), TopK: 1,
    }));
    assert.equal(r.SearchResults[0].Item.pk.S, 'fresh');
    assert.ok(Math.abs(r.SearchResults[0].Score) < 1e-5);
    items.push({ id: 'fresh', v: q, color: 'red' });
  });

  it('rejects bad requests with DynamoDB errors', async () => {
    const q = vec().map((x) => ({ N: String(x) }));
    await assert.rejects(client.send(new SearchVectorsCommand({ TableName: 'Docs', IndexName: 'nope', SearchVector: q, TopK: 3 })),
      (e) => e instanceof ResourceNotFoundException);
    await assert.rejects(client.send(new SearchVectorsCommand({ TableName: 'Nope', IndexName: 'by_cos', SearchVector: q, TopK: 3 })),
      (e) => e instanceof ResourceNotFoundException);
    await assert.rejects(client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_cos', SearchVector: q.slice(1), TopK: 3,
    })), (e) => e.name === 'ValidationException' && /dimensions/.test(e.message));
    await assert.rejects(client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_cos', SearchVector: q, TopK: 3, SearchConditionExpression: 'n = :n',
      ExpressionAttributeValues: { ':n': { N: '1' } },
    })), (e) => e.name === 'ValidationException' && /SearchSchema/.test(e.message));
    await assert.rejects(client.send(new CreateTableCommand({
      TableName: 'Bad', BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      VectorIndexes: [{ IndexName: 'vix1', VectorAttribute: { AttributeName: 'e' }, Dimensions: 0, DistanceFunction: 'COSINE',
        Projection: { ProjectionType: 'ALL' } }],
    })), (e) => e.name === 'ValidationException' && /Dimensions/.test(e.message));
    await assert.rejects(client.send(new CreateTableCommand({
      TableName: 'Bad', BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      VectorIndexes: [{ IndexName: 'vix1', VectorAttribute: { AttributeName: 'e' }, Dimensions: 4, DistanceFunction: 'COSINE',
        Projection: { ProjectionType: 'ALL' }, SearchSchema: [{ AttributeName: 'undeclared', SearchSchemaElementType: 'INLINE_FILTER' }] }],
    })), (e) => e.name === 'ValidationException' && e.message === 'One element in SearchSchema is not defined in attribute definitions');
    await assert.rejects(client.send(new SearchVectorsCommand({ TableName: 'Docs', IndexName: 'by_cos', SearchVector: q, TopK: 101 })),
      (e) => e.name === 'ValidationException' && e.message === 'Provided TopK value is out of valid range');
  });

  it('adds and deletes a vector index with UpdateTable, backfilling existing items', async () => {
    const u = await client.send(new UpdateTableCommand({
      TableName: 'Docs',
      VectorIndexUpdates: [{ Create: { IndexName: 'by_l2_late', VectorAttribute: { AttributeName: 'emb' }, Dimensions: DIMS,
        DistanceFunction: 'EUCLIDEAN', Projection: { ProjectionType: 'ALL' } } }],
    }));
    assert.ok(u.TableDescription.VectorIndexes.some((x) => x.IndexName === 'by_l2_late'));
    const q = vec();
    const r = await client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_l2_late', SearchVector: q.map((x) => ({ N: String(x) })), TopK: 10,
    }));
    checkAgainst(bruteForce('EUCLIDEAN', q, 10), r.SearchResults, 'EUCLIDEAN');
    await assert.rejects(client.send(new UpdateTableCommand({
      TableName: 'Docs', VectorIndexUpdates: [{ Delete: { IndexName: 'missing' } }],
    })), (e) => e instanceof ResourceNotFoundException);
    await assert.rejects(client.send(new UpdateTableCommand({
      TableName: 'Docs', VectorIndexUpdates: [{ Create: { IndexName: 'by_cos', VectorAttribute: { AttributeName: 'emb' },
        Dimensions: DIMS, DistanceFunction: 'COSINE', Projection: { ProjectionType: 'ALL' } } }],
    })), (e) => e.name === 'ValidationException' && /already exists/.test(e.message));
    await client.send(new UpdateTableCommand({ TableName: 'Docs', VectorIndexUpdates: [{ Delete: { IndexName: 'by_l2_late' } }] }));
    const d = await client.send(new DescribeTableCommand({ TableName: 'Docs' }));
    assert.deepEqual(d.Table.VectorIndexes.map((x) => x.IndexName).sort(), ['by_cos', 'by_dot', 'by_l2']);
    await assert.rejects(client.send(new SearchVectorsCommand({
      TableName: 'Docs', IndexName: 'by_l2_late', SearchVector: q.map((x) => ({ N: String(x) })), TopK: 1,
    })), (e) => e instanceof ResourceNotFoundException);
  });

  it('keeps HASH search attributes and the index projection', async () => {
    await client.send(new CreateTableCommand({
      TableName: 'Tenants', BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'tenant', AttributeType: 'S' },
        { AttributeName: 'grp', AttributeType: 'N' }],
      VectorIndexes: [{
        IndexName: 'by_tenant', VectorAttribute: { AttributeName: 'emb' }, Dimensions: DIMS, DistanceFunction: 'EUCLIDEAN',
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title'] },
        SearchSchema: [{ AttributeName: 'tenant', SearchSchemaElementType: 'HASH' },
          { AttributeName: 'grp', SearchSchemaElementType: 'INLINE_FILTER' }],
      }],
    }));
    const rows = [];
    for (let i = 0; i < 40; i++) {
      const row = { id: `t${i}`, v: vec(), tenant: i % 2 ? 'a' : 'b', grp: i % 4 };
      rows.push(row);
      await client.send(new PutItemCommand({ TableName: 'Tenants', Item: {
        pk: { S: row.id }, emb: L(row.v), tenant: { S: row.tenant }, grp: { N: String(row.grp) }, title: { S: `doc ${i}` },
        secret: { S: 'x' },
      } }));
    }
    const d = await client.send(new DescribeTableCommand({ TableName: 'Tenants' }));
    assert.deepEqual(d.Table.VectorIndexes[0].SearchSchema, [{ AttributeName: 'tenant', SearchSchemaElementType: 'HASH' },
      { AttributeName: 'grp', SearchSchemaElementType: 'INLINE_FILTER' }]);
    assert.deepEqual(d.Table.VectorIndexes[0].Projection, { ProjectionType: 'INCLUDE', NonKeyAttributes: ['title'] });
    const q = vec();
    const sv = q.map((x) => ({ N: String(x) }));
    await assert.rejects(client.send(new SearchVectorsCommand({ TableName: 'Tenants', IndexName: 'by_tenant', SearchVector: sv, TopK: 3 })),
      (e) => e.name === 'ValidationException' && /HASH/.test(e.message));
    const r = await client.send(new SearchVectorsCommand({
      TableName: 'Tenants', IndexName: 'by_tenant', SearchVector: sv, TopK: 3,
      SearchConditionExpression: 'tenant = :t', ExpressionAttributeValues: { ':t': { S: 'a' } },
    }));
    const expected = rows.filter((x) => x.tenant === 'a')
      .map((x) => ({ id: x.id, score: SCORE.EUCLIDEAN(q, x.v) })).sort((a, b) => a.score - b.score).slice(0, 3);
    assert.deepEqual(r.SearchResults.map((x) => x.Item.pk.S), expected.map((e) => e.id));
    for (const res of r.SearchResults) assert.deepEqual(Object.keys(res.Item).sort(), ['pk', 'tenant', 'title']);
    // Equality and IN on a number and a string (the engine narrows by its postings of both).
    const r2 = await client.send(new SearchVectorsCommand({
      TableName: 'Tenants', IndexName: 'by_tenant', SearchVector: sv, TopK: 4,
      SearchConditionExpression: 'tenant IN (:a, :b) AND grp = :g',
      ExpressionAttributeValues: { ':a': { S: 'a' }, ':b': { S: 'zzz' }, ':g': { N: '3' } },
    }));
    const expected2 = rows.filter((x) => x.grp === 3)
      .map((x) => ({ id: x.id, score: SCORE.EUCLIDEAN(q, x.v) })).sort((a, b) => a.score - b.score).slice(0, 4);
    assert.deepEqual(r2.SearchResults.map((x) => x.Item.pk.S), expected2.map((e) => e.id));
  });

  it('serves $vectorSearch on dynamodb.<Table> from the same index', async () => {
    const q = vec();
    const docs = await mongo.db('dynamodb').collection('Docs').aggregate([
      { $vectorSearch: { index: 'by_cos', path: 'emb', queryVector: q, numCandidates: 100, limit: 5 } },
      { $project: { _id: 1, s: { $meta: 'vectorSearchScore' } } },
    ]).toArray();
    const expected = bruteForce('COSINE', q, 5);
    assert.deepEqual(docs.map((d) => d._id).sort(), expected.map((e) => e.id).sort());
    // Atlas' cosine score is (1 + cos) / 2; DynamoDB's COSINE score is 1 - cos.
    for (let i = 0; i < 5; i++) assert.ok(Math.abs((2 - 2 * docs[i].s) - expected[i].score) < 1e-4);
  });
});
