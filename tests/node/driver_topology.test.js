'use strict';
// How the Node.js driver sees amalgamd: connection string variants, the server description it
// builds from hello, sessions, and a quiet topology (no failed heartbeats, no servers marked
// Unknown, no pool clears, no reconnect churn) while an idle client sits connected.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const amalgamd = require('./amalgamd');
const { connect } = require('./helpers');

const IDLE_MS = 3000;
const HEARTBEAT_MS = 500;

let server;
before(async () => { server = await amalgamd.start(); });
after(async () => { if (server) await server.stop(); });

// Records every SDAM and pool event that signals trouble, from the moment the client exists.
function watchTopology(client) {
  const trouble = [];
  const heartbeats = [];
  const note = (what, detail) => trouble.push(`${what}: ${detail}`);
  client.on('serverHeartbeatSucceeded', (e) => heartbeats.push(e));
  client.on('serverHeartbeatFailed', (e) => note('serverHeartbeatFailed', `${e.connectionId} ${e.failure}`));
  client.on('serverDescriptionChanged', (e) => {
    if (e.newDescription.type === 'Unknown' && e.previousDescription.type !== 'Unknown') {
      note('serverDescriptionChanged to Unknown', `${e.address} ${e.newDescription.error || ''}`);
    }
  });
  client.on('topologyDescriptionChanged', (e) => {
    const prev = e.previousDescription.servers;
    for (const [address, desc] of e.newDescription.servers) {
      const before = prev.get(address);
      if (desc.type === 'Unknown' && before && before.type !== 'Unknown') {
        note('topologyDescriptionChanged marks server Unknown', `${address} ${desc.error || ''}`);
      }
    }
    for (const address of prev.keys()) {
      if (!e.newDescription.servers.has(address)) note('server removed from topology', address);
    }
  });
  client.on('connectionPoolCleared', (e) => note('connectionPoolCleared', e.address));
  client.on('connectionClosed', (e) => {
    if (e.reason !== 'poolClosed') note('connectionClosed', `${e.address} ${e.reason} ${e.error || ''}`);
  });
  client.on('connectionCheckOutFailed', (e) => note('connectionCheckOutFailed', e.reason));
  client.on('serverClosed', (e) => note('serverClosed', e.address));
  return { trouble, heartbeats };
}

async function quietFor(client, watch, ms) {
  const heartbeatsBefore = watch.heartbeats.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  assert.deepEqual(watch.trouble, [], 'the driver saw topology trouble while idle');
  const during = watch.heartbeats.length - heartbeatsBefore;
  // At least a few heartbeats ran, and none of them spun (a busy heartbeat loop is churn too).
  assert.ok(during >= 2, `only ${during} heartbeats in ${ms} ms`);
  assert.ok(during <= 2 * Math.ceil(ms / HEARTBEAT_MS) + 4, `${during} heartbeats in ${ms} ms`);
  // The pool still works after the idle period.
  assert.equal((await client.db('admin').command({ ping: 1 })).ok, 1);
}

const VARIANTS = [
  ['directConnection=true', 'Single'],
  ['replicaSet=amalgam', 'ReplicaSetWithPrimary'],
  ['', 'ReplicaSetWithPrimary'], // no option: the driver discovers the set from hello
];

describe('connection strings', { concurrency: true }, () => {
  for (const [params, topologyType] of VARIANTS) {
    it(`${params || 'plain host:port'} -> ${topologyType}, quiet while idle`, async () => {
      const { MongoClient } = require('mongodb');
      const client = new MongoClient(server.uri(params), {
        serverSelectionTimeoutMS: 10000, connectTimeoutMS: 10000,
        heartbeatFrequencyMS: HEARTBEAT_MS, minPoolSize: 2, maxIdleTimeMS: 60000,
      });
      const watch = watchTopology(client);
      let description;
      client.on('topologyDescriptionChanged', (e) => { description = e.newDescription; });
      try {
        await client.connect();
        const coll = client.db('nodetopo').collection(params.replace(/\W/g, '_') || 'plain');
        await coll.insertOne({ _id: 1 });
        assert.deepEqual(await coll.findOne({ _id: 1 }), { _id: 1 });

        assert.equal(description.type, topologyType);
        const servers = [...description.servers.values()];
        assert.equal(servers.length, 1);
        assert.equal(servers[0].address, `127.0.0.1:${server.mongoPort}`);
        assert.equal(servers[0].type, 'RSPrimary');
        if (topologyType !== 'Single') assert.equal(description.setName, 'amalgam');

        await quietFor(client, watch, IDLE_MS);
      } finally {
        await client.close();
      }
    });
  }

  it('a wrong replicaSet name is refused by server selection, not silently accepted', async () => {
    const { MongoClient } = require('mongodb');
    const client = new MongoClient(server.uri('replicaSet=notamalgam'), {
      serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000,
    });
    try {
      await assert.rejects(client.connect(), { name: 'MongoServerSelectionError' });
    } finally {
      await client.close();
    }
  });
});

describe('hello', () => {
  let client;
  before(async () => { client = await connect(server); });
  after(async () => { if (client) await client.close(); });

  it('describes a writable primary of set amalgam at the address the client used', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    const address = `127.0.0.1:${server.mongoPort}`;
    assert.equal(hello.isWritablePrimary, true);
    assert.equal(hello.setName, 'amalgam');
    assert.deepEqual(hello.hosts, [address]);
    assert.equal(hello.primary, address);
    assert.equal(hello.me, address);
    assert.ok(hello.maxWireVersion >= 17, `maxWireVersion ${hello.maxWireVersion}`);
    assert.equal(typeof hello.logicalSessionTimeoutMinutes, 'number');
    const legacy = await client.db('admin').command({ isMaster: 1 });
    assert.equal(legacy.ismaster, true);
  });
});

describe('sessions', () => {
  let client;
  before(async () => { client = await connect(server, 'replicaSet=amalgam', { monitorCommands: true }); });
  after(async () => { if (client) await client.close(); });

  it('explicit sessions carry lsid and retryable writes carry txnNumber', async () => {
    const started = [];
    client.on('commandStarted', (e) => started.push(e));
    const coll = client.db('nodetopo').collection('sessions');
    const session = client.startSession();
    try {
      await coll.insertOne({ _id: 1 }, { session });
      await coll.updateOne({ _id: 1 }, { $set: { a: 1 } }, { session });
      assert.deepEqual(await coll.findOne({ _id: 1 }, { session }), { _id: 1, a: 1 });
    } finally {
      await session.endSession();
    }
    const writes = started.filter((e) => ['insert', 'update'].includes(e.commandName));
    assert.equal(writes.length, 2);
    for (const w of writes) {
      assert.ok(w.command.lsid, `${w.commandName} without lsid`);
      assert.ok(w.command.txnNumber !== undefined, `${w.commandName} without txnNumber`);
    }
  });

  it('closing the client ends its sessions without an error', async () => {
    const other = await connect(server, 'directConnection=true', { monitorCommands: true });
    const failed = [];
    other.on('commandFailed', (e) => failed.push(`${e.commandName}: ${e.failure}`));
    await other.db('nodetopo').collection('sessions').findOne({});
    await other.close();
    assert.deepEqual(failed, []);
  });
});
