'use strict';
// CRUD, cursors, indexes, catalog commands and server error codes through the Node.js driver
// (the `mongodb` npm package) against one fresh amalgamd for this file.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Long, MongoServerError, MongoBulkWriteError, ObjectId } = require('mongodb');
const amalgamd = require('./amalgamd');
const { connect } = require('./helpers');

let server;
let client;
let db;
const commands = []; // commandStarted events (monitorCommands) for the paging tests

before(async () => {
  server = await amalgamd.start();
  client = await connect(server, 'directConnection=true', { monitorCommands: true });
  client.on('commandStarted', (e) => commands.push(e));
  db = client.db('nodecrud');
});

after(async () => {
  if (client) await client.close();
  if (server) await server.stop();
});

const PEOPLE = [
  { _id: 1, name: 'ada', age: 36, tags: ['math', 'code'], addr: { city: 'london' } },
  { _id: 2, name: 'bob', age: 25, tags: ['code'], addr: { city: 'paris' } },
  { _id: 3, name: 'cy', age: 41, tags: [], addr: { city: 'london' } },
  { _id: 4, name: 'dee', age: null },
  { _id: 5, name: 'eve', age: 25, tags: ['sec', 'code'] },
];

async function freshPeople(name) {
  const coll = db.collection(name);
  await coll.insertMany(PEOPLE.map((d) => structuredClone(d)));
  return coll;
}

const ids = (docs) => docs.map((d) => d._id);

async function serverError(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected the server to refuse the operation');
}

describe('connection', () => {
  it('ping and buildInfo answer', async () => {
    const ping = await db.command({ ping: 1 });
    assert.equal(ping.ok, 1);
    const info = await db.admin().command({ buildInfo: 1 });
    assert.equal(info.ok, 1);
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.ok(Array.isArray(info.versionArray));
  });
});

describe('insert', () => {
  it('insertOne and insertMany report what they inserted', async () => {
    const coll = db.collection('ins');
    const one = await coll.insertOne({ _id: 'a', v: 1 });
    assert.equal(one.acknowledged, true);
    assert.equal(one.insertedId, 'a');
    const generated = await coll.insertOne({ v: 2 });
    assert.ok(generated.insertedId instanceof ObjectId);
    const many = await coll.insertMany([{ _id: 'b', v: 3 }, { _id: 'c', v: 4 }]);
    assert.equal(many.insertedCount, 2);
    assert.deepEqual(many.insertedIds, { 0: 'b', 1: 'c' });
    assert.deepEqual(await coll.findOne({ _id: generated.insertedId }),
      { _id: generated.insertedId, v: 2 });
    assert.equal(await coll.estimatedDocumentCount(), 4);
  });

  it('a duplicate _id is MongoServerError 11000', async () => {
    const coll = db.collection('dup');
    await coll.insertOne({ _id: 1 });
    const err = await serverError(coll.insertOne({ _id: 1, x: 1 }));
    assert.ok(err instanceof MongoServerError, `${err}`);
    assert.equal(err.code, 11000);
    assert.match(err.message, /E11000 duplicate key error/);
  });

  it('insertMany ordered stops at the duplicate, unordered goes on', async () => {
    const coll = db.collection('dupmany');
    await coll.insertOne({ _id: 2 });
    const ordered = await serverError(coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]));
    assert.ok(ordered instanceof MongoBulkWriteError, `${ordered}`);
    assert.equal(ordered.code, 11000);
    assert.equal(ordered.insertedCount, 1);
    assert.equal(ordered.writeErrors.length ?? 1, 1);
    const unordered = await serverError(
      coll.insertMany([{ _id: 4 }, { _id: 2 }, { _id: 5 }], { ordered: false }));
    assert.ok(unordered instanceof MongoBulkWriteError, `${unordered}`);
    assert.equal(unordered.code, 11000);
    assert.equal(unordered.insertedCount, 2);
    const writeErrors = [].concat(unordered.writeErrors);
    assert.equal(writeErrors.length, 1);
    assert.equal(writeErrors[0].index, 1);
    assert.equal(writeErrors[0].code, 11000);
    assert.deepEqual(ids(await coll.find().sort({ _id: 1 }).toArray()), [1, 2, 4, 5]);
  });
});

describe('find', () => {
  let people;
  before(async () => { people = await freshPeople('people'); });

  it('filters with operators and dotted paths', async () => {
    assert.deepEqual(ids(await people.find({ age: 25 }).toArray()), [2, 5]);
    assert.deepEqual(ids(await people.find({ age: { $gte: 36 } }).toArray()), [1, 3]);
    assert.deepEqual(ids(await people.find({ tags: 'code' }).toArray()), [1, 2, 5]);
    assert.deepEqual(ids(await people.find({ 'addr.city': 'london' }).toArray()), [1, 3]);
    assert.deepEqual(ids(await people.find({ age: null }).toArray()), [4]);
    assert.deepEqual(ids(await people.find({ $or: [{ name: 'bob' }, { age: { $gt: 40 } }] })
      .toArray()), [2, 3]);
    assert.deepEqual(ids(await people.find({ name: /^[a-c]/ }).toArray()), [1, 2, 3]);
    assert.deepEqual(ids(await people.find({ _id: { $in: [5, 3, 9] } }).toArray()), [3, 5]);
  });

  it('sorts, projects, skips and limits', async () => {
    assert.deepEqual(ids(await people.find().sort({ age: -1, _id: 1 }).toArray()),
      [3, 1, 2, 5, 4]);
    assert.deepEqual(ids(await people.find({}, { sort: { name: 1 }, skip: 1, limit: 2 })
      .toArray()), [2, 3]);
    assert.deepEqual(ids(await people.find().sort({ _id: -1 }).skip(1).limit(2).toArray()),
      [4, 3]);
    assert.deepEqual(await people.findOne({ _id: 1 }, { projection: { name: 1, 'addr.city': 1 } }),
      { _id: 1, name: 'ada', addr: { city: 'london' } });
    assert.deepEqual(
      await people.find({ _id: 1 }).project({ tags: 0, addr: 0, _id: 0 }).next(),
      { name: 'ada', age: 36 });
    assert.equal(await people.findOne({ _id: 99 }), null);
  });

  it('distinct and the count command', async () => {
    assert.deepEqual(await people.distinct('tags'), ['code', 'math', 'sec']);
    assert.deepEqual(await people.distinct('addr.city', { age: { $gt: 30 } }), ['london']);
    assert.equal(await people.estimatedDocumentCount(), 5);
    const counted = await db.command({ count: 'people', query: { tags: 'code' } });
    assert.equal(counted.n, 3);
  });

  it('countDocuments (runs an aggregation)',
    async () => {
      assert.equal(await people.countDocuments({ tags: 'code' }), 3);
    });
});

describe('cursors', () => {
  const N = 250;
  let many;
  before(async () => {
    many = db.collection('many');
    await many.insertMany(Array.from({ length: N }, (_, i) => ({ _id: i, v: i % 7 })));
  });

  const getMoresSince = (mark) => commands.slice(mark).filter((e) => e.commandName === 'getMore');

  it('toArray pages through getMore when batchSize is smaller than the result', async () => {
    const mark = commands.length;
    const docs = await many.find({}, { batchSize: 20 }).toArray();
    assert.deepEqual(ids(docs), Array.from({ length: N }, (_, i) => i));
    assert.ok(getMoresSince(mark).length >= Math.floor(N / 20) - 1,
      `expected getMore paging, saw ${getMoresSince(mark).length}`);
  });

  it('for await pages through a filtered, sorted cursor', async () => {
    const mark = commands.length;
    const seen = [];
    for await (const doc of many.find({ v: 3 }).sort({ _id: -1 }).batchSize(5)) seen.push(doc._id);
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 === 3).reverse();
    assert.deepEqual(seen, expected);
    assert.ok(getMoresSince(mark).length >= 5);
  });

  it('closing a cursor early kills it on the server', async () => {
    const mark = commands.length;
    const cursor = many.find({}, { batchSize: 10 });
    assert.equal((await cursor.next())._id, 0);
    const id = cursor.id;
    assert.ok(id && !id.isZero(), 'the server kept a cursor open');
    await cursor.close();
    const kills = commands.slice(mark).filter((e) => e.commandName === 'killCursors');
    assert.equal(kills.length, 1);
    const err = await serverError(db.command({ getMore: id, collection: 'many' }));
    assert.equal(err.code, 43); // CursorNotFound
  });
});

describe('update', () => {
  it('updateOne and updateMany with operators', async () => {
    const coll = await freshPeople('upd');
    const one = await coll.updateOne({ name: 'ada' }, { $set: { age: 37 }, $push: { tags: 'x' } });
    assert.equal(one.matchedCount, 1);
    assert.equal(one.modifiedCount, 1);
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { age: 1, tags: 1 } }),
      { _id: 1, age: 37, tags: ['math', 'code', 'x'] });
    const many = await coll.updateMany({ age: 25 }, { $inc: { age: 1 }, $unset: { tags: '' } });
    assert.equal(many.matchedCount, 2);
    assert.equal(many.modifiedCount, 2);
    assert.deepEqual(await coll.find({ age: 26 }, { projection: { name: 1 } }).toArray(),
      [{ _id: 2, name: 'bob' }, { _id: 5, name: 'eve' }]);
    const none = await coll.updateOne({ name: 'nobody' }, { $set: { a: 1 } });
    assert.equal(none.matchedCount, 0);
    assert.equal(none.upsertedCount, 0);
    const noop = await coll.updateOne({ _id: 1 }, { $set: { age: 37 } });
    assert.equal(noop.matchedCount, 1);
    assert.equal(noop.modifiedCount, 0);
  });

  it('replaceOne replaces the whole document', async () => {
    const coll = await freshPeople('repl');
    const r = await coll.replaceOne({ _id: 2 }, { name: 'robert' });
    assert.equal(r.matchedCount, 1);
    assert.equal(r.modifiedCount, 1);
    assert.deepEqual(await coll.findOne({ _id: 2 }), { _id: 2, name: 'robert' });
  });

  it('upserts report the new _id', async () => {
    const coll = db.collection('ups');
    const byId = await coll.updateOne({ _id: 'k' }, { $set: { v: 1 } }, { upsert: true });
    assert.equal(byId.upsertedCount, 1);
    assert.equal(byId.upsertedId, 'k');
    assert.deepEqual(await coll.findOne({ _id: 'k' }), { _id: 'k', v: 1 });
    const generated = await coll.updateOne({ name: 'z' }, { $inc: { n: 1 } }, { upsert: true });
    assert.ok(generated.upsertedId instanceof ObjectId);
    assert.deepEqual(await coll.findOne({ name: 'z' }), { _id: generated.upsertedId, name: 'z', n: 1 });
    const again = await coll.updateOne({ name: 'z' }, { $inc: { n: 1 } }, { upsert: true });
    assert.equal(again.upsertedCount, 0);
    assert.equal(again.matchedCount, 1);
    const replaced = await coll.replaceOne({ _id: 'r' }, { v: 2 }, { upsert: true });
    assert.equal(replaced.upsertedId, 'r');
    assert.deepEqual(await coll.findOne({ _id: 'r' }), { _id: 'r', v: 2 });
  });
});

describe('delete', () => {
  it('deleteOne and deleteMany report counts', async () => {
    const coll = await freshPeople('del');
    assert.equal((await coll.deleteOne({ age: 25 })).deletedCount, 1);
    assert.equal((await coll.deleteOne({ name: 'nobody' })).deletedCount, 0);
    assert.equal((await coll.deleteMany({ 'addr.city': 'london' })).deletedCount, 2);
    assert.equal((await coll.find().toArray()).length, 2);
    assert.equal((await coll.deleteMany({})).deletedCount, 2);
    assert.equal(await coll.estimatedDocumentCount(), 0);
  });
});

describe('findAndModify', () => {
  it('findOneAndUpdate returns the document before or after', async () => {
    const coll = await freshPeople('fam');
    const before = await coll.findOneAndUpdate({ _id: 1 }, { $inc: { age: 1 } });
    assert.equal(before.age, 36);
    const after = await coll.findOneAndUpdate({ _id: 1 }, { $inc: { age: 1 } },
      { returnDocument: 'after', projection: { age: 1 } });
    assert.deepEqual(after, { _id: 1, age: 38 });
    const sorted = await coll.findOneAndUpdate({ age: 25 }, { $set: { picked: true } },
      { sort: { _id: -1 }, returnDocument: 'after' });
    assert.equal(sorted._id, 5);
    assert.equal(sorted.picked, true);
    const missing = await coll.findOneAndUpdate({ _id: 42 }, { $set: { a: 1 } });
    assert.equal(missing, null);
    const upserted = await coll.findOneAndUpdate({ _id: 42 }, { $set: { a: 1 } },
      { upsert: true, returnDocument: 'after' });
    assert.deepEqual(upserted, { _id: 42, a: 1 });
    const meta = await coll.findOneAndUpdate({ _id: 2 }, { $set: { b: 1 } },
      { includeResultMetadata: true });
    assert.equal(meta.ok, 1);
    assert.equal(meta.lastErrorObject.n, 1);
    assert.equal(meta.lastErrorObject.updatedExisting, true);
  });

  it('findOneAndReplace and findOneAndDelete', async () => {
    const coll = await freshPeople('fad');
    const replaced = await coll.findOneAndReplace({ _id: 3 }, { name: 'cyrus' },
      { returnDocument: 'after' });
    assert.deepEqual(replaced, { _id: 3, name: 'cyrus' });
    const deleted = await coll.findOneAndDelete({ age: 25 }, { sort: { _id: 1 } });
    assert.equal(deleted._id, 2);
    assert.equal(await coll.findOne({ _id: 2 }), null);
    assert.equal(await coll.findOneAndDelete({ _id: 2 }), null);
  });
});

describe('indexes', () => {
  it('createIndex, listIndexes, unique violations and dropIndex', async () => {
    const coll = await freshPeople('idx');
    assert.equal(await coll.createIndex({ name: 1 }, { unique: true }), 'name_1');
    assert.equal(await coll.createIndex({ age: -1, name: 1 }, { name: 'by_age' }), 'by_age');
    const indexes = await coll.listIndexes().toArray();
    assert.deepEqual(indexes.map((i) => [i.name, i.key]), [
      ['_id_', { _id: 1 }], ['name_1', { name: 1 }], ['by_age', { age: -1, name: 1 }]]);
    assert.equal(indexes.find((i) => i.name === 'name_1').unique, true);
    assert.equal(await coll.indexExists('by_age'), true);
    assert.deepEqual(ids(await coll.find({ age: { $gte: 36 } }).hint('by_age').toArray()), [3, 1]);

    const dup = await serverError(coll.insertOne({ _id: 10, name: 'ada' }));
    assert.ok(dup instanceof MongoServerError, `${dup}`);
    assert.equal(dup.code, 11000);
    assert.match(dup.message, /index: name_1/);
    const dupUpdate = await serverError(coll.updateOne({ _id: 2 }, { $set: { name: 'ada' } }));
    assert.equal(dupUpdate.code, 11000);

    await coll.dropIndex('name_1');
    assert.deepEqual((await coll.listIndexes().toArray()).map((i) => i.name), ['_id_', 'by_age']);
    await coll.insertOne({ _id: 10, name: 'ada' });
    const missing = await serverError(coll.dropIndex('name_1'));
    assert.equal(missing.code, 27); // IndexNotFound
  });
});

describe('catalog', () => {
  it('listCollections, listDatabases, drop and dropDatabase', async () => {
    const other = client.db('nodecatalog');
    await other.collection('a').insertOne({ _id: 1 });
    await other.createCollection('b');
    const names = (await other.listCollections().toArray()).map((c) => c.name).sort();
    assert.deepEqual(names, ['a', 'b']);
    const onlyA = await other.listCollections({ name: 'a' }).toArray();
    assert.equal(onlyA.length, 1);
    assert.equal(onlyA[0].type, 'collection');
    const nameOnly = await other.listCollections({}, { nameOnly: true }).toArray();
    assert.deepEqual(nameOnly.map((c) => c.name).sort(), ['a', 'b']);

    const dbs = await client.db('admin').admin().listDatabases();
    assert.ok(dbs.databases.some((d) => d.name === 'nodecatalog'), JSON.stringify(dbs));
    const dbNames = await client.db('admin').admin().listDatabases({ nameOnly: true });
    assert.ok(dbNames.databases.some((d) => d.name === 'nodecatalog'));

    assert.equal(await other.collection('a').drop(), true);
    assert.deepEqual((await other.listCollections().toArray()).map((c) => c.name), ['b']);
    // MongoDB 7.0 (the version amalgamd reports) answers ok to dropping a missing collection.
    await other.collection('a').drop();

    await other.collection('b').rename('c');
    assert.deepEqual((await other.listCollections().toArray()).map((c) => c.name), ['c']);

    assert.equal(await other.dropDatabase(), true);
    const after = await client.db('admin').admin().listDatabases();
    assert.ok(!after.databases.some((d) => d.name === 'nodecatalog'), JSON.stringify(after));
  });
});

describe('server errors surface as MongoServerError.code', () => {
  let coll;
  before(async () => { coll = await freshPeople('errs'); });

  const cases = [
    ['unknown command', () => db.command({ frobnicate: 1 }), 59, 'CommandNotFound'],
    ['unknown query operator', () => coll.find({ a: { $frob: 1 } }).toArray(), 2, 'BadValue'],
    // Write errors (writeErrors[] entries) carry code and errmsg but no codeName, as in MongoDB.
    ['unknown update operator', () => coll.updateOne({ _id: 1 }, { $frob: { a: 1 } }), 9, null],
    ['changing _id', () => coll.updateOne({ _id: 1 }, { $set: { _id: 7 } }), 66, null],
    ['$inc on a string', () => coll.updateOne({ _id: 1 }, { $inc: { name: 1 } }), 14, null],

    ['renaming onto an existing collection', async () => {
      await db.collection('errs_target').insertOne({ _id: 1 });
      return coll.rename('errs_target');
    }, 48, 'NamespaceExists'],
    ['getMore of an unknown cursor', () => db.command({ getMore: Long.fromNumber(12345), collection: 'errs' }), 43,
      'CursorNotFound'],
  ];
  for (const [what, op, code, codeName] of cases) {
    it(`${what}: ${code} ${codeName || ''}`, async () => {
      const err = await serverError(op());
      assert.ok(err instanceof MongoServerError, `${what}: ${err && err.stack}`);
      assert.equal(err.code, code, `${what}: ${err.message}`);
      if (codeName) assert.equal(err.codeName, codeName, `${what}: ${err.message}`);
    });
  }
});
