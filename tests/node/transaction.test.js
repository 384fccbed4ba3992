'use strict';
// Multi-document transactions through the Node.js driver: session.withTransaction over two
// collections, an abort that leaves nothing behind, and concurrent transfers that keep the total.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { MongoServerError } = require('mongodb');
const amalgamd = require('./amalgamd');
const { connect } = require('./helpers');

let server;
let client;
let db;

before(async () => {
  server = await amalgamd.start();
  client = await connect(server, 'directConnection=true');
  db = client.db('nodetxn');
});

after(async () => {
  if (client) await client.close();
  if (server) await server.stop();
});

describe('transactions', () => {
  it('withTransaction commits writes to two collections together', async () => {
    const orders = db.collection('orders');
    const stock = db.collection('stock');
    await stock.insertOne({ _id: 'widget', qty: 10 });
    await orders.insertOne({ _id: 0, seed: true });
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await stock.updateOne({ _id: 'widget' }, { $inc: { qty: -3 } }, { session });
        await orders.insertOne({ _id: 1, item: 'widget', qty: 3 }, { session });
        // Own writes are visible inside; nothing is visible outside yet.
        assert.equal((await stock.findOne({ _id: 'widget' }, { session })).qty, 7);
        assert.equal(await orders.countDocuments({}, { session }), 2);
        assert.equal((await stock.findOne({ _id: 'widget' })).qty, 10);
        assert.equal(await orders.findOne({ _id: 1 }), null);
      });
    } finally {
      await session.endSession();
    }
    assert.equal((await stock.findOne({ _id: 'widget' })).qty, 7);
    assert.deepEqual(await orders.findOne({ _id: 1 }), { _id: 1, item: 'widget', qty: 3 });
  });

  it('an aborted transaction leaves both collections unchanged', async () => {
    const a = db.collection('abort_a');
    const b = db.collection('abort_b');
    await a.insertOne({ _id: 1, v: 1 });
    await b.insertOne({ _id: 1, v: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await a.updateOne({ _id: 1 }, { $set: { v: 2 } }, { session });
      await b.deleteOne({ _id: 1 }, { session });
      await b.insertOne({ _id: 2 }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    assert.deepEqual(await a.find().toArray(), [{ _id: 1, v: 1 }]);
    assert.deepEqual(await b.find().toArray(), [{ _id: 1, v: 1 }]);
  });

  it('a write conflict is a TransientTransactionError and withTransaction retries it', async () => {
    const accts = db.collection('accts');
    await accts.insertMany([0, 1, 2, 3].map((i) => ({ _id: i, bal: 100 })));
    const s1 = client.startSession();
    const s2 = client.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await accts.updateOne({ _id: 0 }, { $inc: { bal: 1 } }, { session: s1 });
      const err = await accts.updateOne({ _id: 0 }, { $inc: { bal: 1 } }, { session: s2 }).then(
        () => null, (e) => e);
      assert.ok(err instanceof MongoServerError, `expected a server error, got ${err}`);
      assert.equal(err.code, 112);
      assert.ok(err.hasErrorLabel('TransientTransactionError'));
      await s1.commitTransaction();
      await s2.abortTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    // Concurrent transfers around the ring: withTransaction retries conflicts; money is kept.
    const transfers = [0, 1, 2, 3].map(async (k) => {
      const session = client.startSession();
      try {
        for (let n = 0; n < 10; n++) {
          await session.withTransaction(async () => {
            await accts.updateOne({ _id: k }, { $inc: { bal: -5 } }, { session });
            await accts.updateOne({ _id: (k + 1) % 4 }, { $inc: { bal: 5 } }, { session });
          });
        }
      } finally {
        await session.endSession();
      }
    });
    await Promise.all(transfers);
    const bals = (await accts.find().sort({ _id: 1 }).toArray()).map((d) => d.bal);
    assert.deepEqual(bals, [101, 100, 100, 100]);
  });
});

describe('mongosh', () => {
  it('session.withTransaction in a mongosh script commits, abortTransaction rolls back', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'amalgam-mongosh-txn-'));
    fs.writeFileSync(path.join(home, 'mongosh.conf'), 'mongosh:\n  forceDisableTelemetry: true\n  updateURL: ""\n');
    fs.mkdirSync(path.join(home, '.mongodb', 'mongosh'), { recursive: true });
    fs.writeFileSync(path.join(home, '.mongodb', 'mongosh', 'config'), JSON.stringify({ enableTelemetry: false }));
    const env = {
      ...process.env,
      HOME: home,
      MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING: path.join(home, 'mongosh.conf'),
      MONGOSH_FORCE_DISABLE_TELEMETRY_FOR_TESTING: '1',
      CI: '1',
      NO_COLOR: '1',
    };
    const args = [server.uri('directConnection=true'), '--quiet', '--file',
      path.join(__dirname, 'fixtures', 'mongosh_transaction.js')];
    const mongosh = path.join(__dirname, 'node_modules', '.bin', 'mongosh');
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      const child = spawn(mongosh, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      let e = '';
      child.stdout.on('data', (d) => { o += d; });
      child.stderr.on('data', (d) => { e += d; });
      child.on('error', reject);
      const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
      child.on('close', (c) => { clearTimeout(timer); resolve({ code: c, stdout: o, stderr: e }); });
    });
    if (!process.env.AMALGAM_KEEP_TMP) fs.rmSync(home, { recursive: true, force: true });
    assert.equal(code, 0, `mongosh failed:\n${stdout}\n${stderr}`);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `no RESULT line in:\n${stdout}\n${stderr}`);
    assert.deepEqual(JSON.parse(line.slice(7)), {
      insideSeesOwnWrites: 40,
      outsideSeesNothing: 0,
      balances: [['alice', 60], ['bob', 40]],
      audit: 1,
    });
  });
});
