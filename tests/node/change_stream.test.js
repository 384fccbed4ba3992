'use strict';
// Change streams through the Node.js driver: collection, database and cluster watch(),
// fullDocument: 'updateLookup', pre-images, resumeAfter, and the async-iterator / event APIs;
// and mongosh's db.coll.watch(), db.watch() and Mongo.watch().
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const amalgamd = require('./amalgamd');
const { connect } = require('./helpers');

let server;
let client;
let db;

before(async () => {
  server = await amalgamd.start();
  client = await connect(server, 'directConnection=true');
  db = client.db('nodecs');
});

after(async () => {
  if (client) await client.close();
  if (server) await server.stop();
});

// The next `n` events of `stream` (tryNext, bounded in time).
async function nextEvents(stream, n, timeoutMs = 10000) {
  const out = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n && Date.now() < deadline) {
    const e = await stream.tryNext();
    if (e) out.push(e);
  }
  assert.equal(out.length, n, `got ${out.length} of ${n} events`);
  return out;
}

describe('change streams (Node driver)', () => {
  it('reports insert, update, replace and delete on a collection', async () => {
    const coll = db.collection('items');
    const stream = coll.watch([], { maxAwaitTimeMS: 500 });
    await stream.tryNext(); // opens the stream
    await coll.insertOne({ _id: 1, a: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { b: 2 }, $unset: { a: '' } });
    await coll.replaceOne({ _id: 1 }, { c: 3 });
    await coll.deleteOne({ _id: 1 });
    const [ins, upd, rep, del] = await nextEvents(stream, 4);
    await stream.close();
    assert.equal(ins.operationType, 'insert');
    assert.deepEqual(ins.fullDocument, { _id: 1, a: 1 });
    assert.deepEqual(ins.ns, { db: 'nodecs', coll: 'items' });
    assert.deepEqual(upd.updateDescription, { updatedFields: { b: 2 }, removedFields: ['a'], truncatedArrays: [] });
    assert.equal(rep.operationType, 'replace');
    assert.deepEqual(rep.fullDocument, { _id: 1, c: 3 });
    assert.equal(del.operationType, 'delete');
    assert.deepEqual(del.documentKey, { _id: 1 });
    assert.ok(typeof ins._id._data === 'string');
  });

  it('delivers through the change event emitter and the async iterator', async () => {
    const coll = db.collection('emit');
    const stream = coll.watch([{ $match: { 'fullDocument.n': { $gte: 2 } } }], { fullDocument: 'updateLookup' });
    const got = new Promise((resolve) => stream.once('change', resolve));
    await new Promise((r) => setTimeout(r, 300)); // let the driver open the stream
    await coll.insertMany([{ _id: 1, n: 1 }, { _id: 2, n: 2 }]);
    const e = await got;
    assert.deepEqual(e.fullDocument, { _id: 2, n: 2 });
    await stream.close();

    const it2 = db.collection('iter').watch([], { fullDocument: 'updateLookup' });
    await it2.tryNext();
    await db.collection('iter').insertOne({ _id: 'a', v: 1 });
    await db.collection('iter').updateOne({ _id: 'a' }, { $inc: { v: 1 } });
    const seen = [];
    for await (const change of it2) {
      seen.push(change);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen[1].fullDocument, { _id: 'a', v: 2 });
  });

  it('watches a database and the cluster, and resumes after a token', async () => {
    const dbStream = db.watch();
    const clusterStream = client.watch();
    await dbStream.tryNext();
    await clusterStream.tryNext();
    await db.collection('x').insertOne({ _id: 1 });
    await client.db('nodecs2').collection('y').insertOne({ _id: 2 });
    await db.collection('x').insertOne({ _id: 3 });
    const dbEvents = await nextEvents(dbStream, 2);
    assert.deepEqual(dbEvents.map((e) => e.documentKey._id), [1, 3]);
    const all = await nextEvents(clusterStream, 3);
    assert.deepEqual(all.map((e) => e.ns.db), ['nodecs', 'nodecs2', 'nodecs']);
    await dbStream.close();
    await clusterStream.close();

    const resumed = db.watch([], { resumeAfter: dbEvents[0]._id });
    const [again] = await nextEvents(resumed, 1);
    assert.deepEqual(again._id, dbEvents[1]._id);
    await resumed.close();
  });

  it('shows pre-images when the collection records them', async () => {
    await db.createCollection('pre', { changeStreamPreAndPostImages: { enabled: true } });
    const coll = db.collection('pre');
    await coll.insertOne({ _id: 1, v: 'old' });
    const stream = coll.watch([], { fullDocumentBeforeChange: 'required', fullDocument: 'required' });
    await stream.tryNext();
    await coll.updateOne({ _id: 1 }, { $set: { v: 'new' } });
    const [e] = await nextEvents(stream, 1);
    assert.deepEqual(e.fullDocumentBeforeChange, { _id: 1, v: 'old' });
    assert.deepEqual(e.fullDocument, { _id: 1, v: 'new' });
    await stream.close();
  });

  it('ends with invalidate when the collection is dropped', async () => {
    const coll = db.collection('dropme');
    await coll.insertOne({ _id: 1 });
    const stream = coll.watch();
    await stream.tryNext();
    await coll.drop();
    const [drop, inv] = await nextEvents(stream, 2);
    assert.equal(drop.operationType, 'drop');
    assert.equal(inv.operationType, 'invalidate');
    await stream.close();
  });
});

// mongosh's watch() helpers: a script run with --eval against the same server.
describe('change streams (mongosh)', () => {
  it('reads events through watch() at every level', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'amalgam-mongosh-cs-'));
    fs.writeFileSync(path.join(home, 'mongosh.conf'), 'mongosh:\n  forceDisableTelemetry: true\n  updateURL: ""\n');
    fs.mkdirSync(path.join(home, '.mongodb', 'mongosh'), { recursive: true });
    fs.writeFileSync(path.join(home, '.mongodb', 'mongosh', 'config'), JSON.stringify({ enableTelemetry: false }));
    const script = `
      const next = (cs) => { for (let i = 0; i < 100; i++) { const e = cs.tryNext(); if (e) return e; } return null; };
      const coll = db.getSiblingDB('shcs').items;
      const c1 = coll.watch(); c1.tryNext();
      const c2 = db.getSiblingDB('shcs').watch(); c2.tryNext();
      const c3 = db.getMongo().watch(); c3.tryNext();
      coll.insertOne({ _id: 7, v: 'x' });
      const e1 = next(c1), e2 = next(c2), e3 = next(c3);
      print('RESULT ' + JSON.stringify([e1, e2, e3].map((e) => e && [e.operationType, e.ns.coll, e.documentKey._id])));
    `;
    const mongosh = path.join(__dirname, 'node_modules', '.bin', 'mongosh');
    const env = { ...process.env, HOME: home, MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING: path.join(home, 'mongosh.conf'),
      MONGOSH_FORCE_DISABLE_TELEMETRY_FOR_TESTING: '1', CI: '1', NO_COLOR: '1' };
    const uri = `mongodb://127.0.0.1:${server.mongoPort}/test?directConnection=true`;
    const stdout = await new Promise((resolve, reject) => {
      execFile(mongosh, [uri, '--quiet', '--eval', script], { env, timeout: 60000 }, (err, out, errOut) => {
        if (err) reject(new Error(`mongosh failed: ${err.message}\n${out}\n${errOut}`));
        else resolve(out);
      });
    });
    fs.rmSync(home, { recursive: true, force: true });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `no RESULT line in:\n${stdout}`);
    assert.deepEqual(JSON.parse(line.slice(7)), [['insert', 'items', 7], ['insert', 'items', 7], ['insert', 'items', 7]]);
  });
});
