'use strict';
// mongosh (the pinned npm package, run from node_modules/.bin) against one fresh amalgamd for
// this file. mongosh connects through a recording proxy (wire_spy.js) so a failure names the
// exact command mongosh sent and what amalgamd answered.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const amalgamd = require('./amalgamd');
const { startSpy } = require('./wire_spy');

const MONGOSH = path.join(__dirname, 'node_modules', '.bin', 'mongosh');
const RUN_TIMEOUT_MS = 60000;

// Commands mongosh sends on connect that a real (non-Atlas) MongoDB 7.0 refuses too; mongosh
// expects and ignores these refusals.
const EXPECTED_REFUSALS = [
  // getConnectionInfo(): "is this Atlas?" — mongod answers CommandNotFound.
  { command: 'atlasVersion', code: 59 },
  // mongodb-build-info identifyServerName(): probes for DocumentDB; mongod answers 72.
  { command: 'getParameter', code: 72, when: (req) => req.getParameter === 'foo' },
];
// Commands amalgamd refuses that MongoDB answers; mongosh tolerates them, so they are reported
// as diagnostics here (and listed in docs/status.md) instead of failing the test.
const KNOWN_GAPS = [];

const matches = (list, e) => list.some((x) => x.command === e.command && x.code === e.reply.code &&
  (!x.when || x.when(e.request)));

let server;
let spy;
let home;

before(async () => {
  server = await amalgamd.start();
  spy = await startSpy(server.mongoPort);
  // A private HOME for mongosh's config, history and logs; telemetry and update checks off, so
  // mongosh talks to nothing but 127.0.0.1.
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'amalgam-mongosh-'));
  fs.writeFileSync(path.join(home, 'mongosh.conf'),
    'mongosh:\n  forceDisableTelemetry: true\n  updateURL: ""\n');
  fs.mkdirSync(path.join(home, '.mongodb', 'mongosh'), { recursive: true });
  fs.writeFileSync(path.join(home, '.mongodb', 'mongosh', 'config'),
    JSON.stringify({ enableTelemetry: false }));
});

after(async () => {
  if (spy) await spy.close();
  if (home && !process.env.AMALGAM_KEEP_TMP) fs.rmSync(home, { recursive: true, force: true });
  if (server) await server.stop();
});

function uri() {
  return `mongodb://127.0.0.1:${spy.port}/test?directConnection=true`;
}

// Runs mongosh to completion (SIGKILL after RUN_TIMEOUT_MS). Resolves to { code, stdout, stderr,
// exchanges } where exchanges are the commands this run sent through the spy.
function runMongosh(args, input = '') {
  const first = spy.exchanges.length;
  const env = {
    ...process.env,
    HOME: home,
    MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING: path.join(home, 'mongosh.conf'),
    MONGOSH_FORCE_DISABLE_TELEMETRY_FOR_TESTING: '1',
    MONGOSH_TELEMETRY_ENDPOINT: '',
    CI: '1',
    NO_COLOR: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(MONGOSH, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') {
        reject(new Error(`mongosh ${args.join(' ')} did not finish within ${RUN_TIMEOUT_MS} ms\n` +
          `stdout:\n${stdout}\nstderr:\n${stderr}`));
        return;
      }
      resolve({ code, stdout, stderr, exchanges: spy.exchanges.slice(first) });
    });
    child.stdin.end(input);
  });
}

// Fails on any command amalgamd refused that MongoDB would not; reports known gaps.
function checkRefusals(t, run) {
  const refused = run.exchanges.filter((e) => e.reply && e.reply.ok !== 1);
  const show = (e) => `${JSON.stringify(strip(e.request))} -> ` +
    `${JSON.stringify({ ok: e.reply.ok, code: e.reply.code, codeName: e.reply.codeName, errmsg: e.reply.errmsg })}`;
  for (const e of refused.filter((x) => matches(KNOWN_GAPS, x))) {
    t.diagnostic(`known gap: ${show(e)}`);
  }
  const unexpected = refused.filter((e) => !matches(EXPECTED_REFUSALS, e) && !matches(KNOWN_GAPS, e));
  assert.deepEqual(unexpected.map(show), [], 'amalgamd refused commands mongosh sent');
  const unanswered = run.exchanges.filter((e) => !e.reply && !isUnacknowledged(e.request));
  assert.deepEqual(unanswered.map((e) => JSON.stringify(strip(e.request))), [],
    'commands without a reply');
}

function isUnacknowledged(request) {
  return request.writeConcern && request.writeConcern.w === 0;
}

// Drops the noise (session ids, cluster time, client metadata) from a request for messages.
function strip(request) {
  const { lsid, $clusterTime, client, ...rest } = request; // eslint-disable-line no-unused-vars
  return rest;
}

// mongosh's own log for this HOME: errors and warnings other than optional modules it lacks.
function mongoshLogProblems() {
  const dir = path.join(home, '.mongodb', 'mongosh');
  const problems = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('_log'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const entry = JSON.parse(line);
      if (entry.s !== 'E' && entry.s !== 'W') continue;
      if (entry.msg === 'Missing optional dependency') continue; // kerberos, client encryption
      problems.push(`${entry.s} ${entry.c} ${entry.msg} ${JSON.stringify(entry.attr)}`);
    }
  }
  return problems;
}

function result(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in mongosh output:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

describe('mongosh', () => {
  it('runs a typical session from --file', async (t) => {
    const run = await runMongosh([uri(), '--quiet', '--file',
      path.join(__dirname, 'fixtures', 'mongosh_session.js')]);
    assert.equal(run.code, 0, `mongosh exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.equal(run.stderr, '', 'mongosh wrote to stderr');
    assert.deepEqual(result(run.stdout), {
      ping: 1,
      insertOne: { acknowledged: true, insertedId: 1 },
      insertMany: [2, 3, 4],
      duplicate: { name: 'MongoServerError', code: 11000 },
      find: [{ name: 'cy' }, { name: 'ada' }, { name: 'dee' }],
      findOne: { _id: 2, name: 'bob', age: 25 },
      limited: [2, 3],
      count: 3,
      estimated: 4,
      createIndex: 'name_1',
      getIndexes: [
        { name: '_id_', key: { _id: 1 }, unique: false },
        { name: 'name_1', key: { name: 1 }, unique: true },
      ],
      updateOne: { matched: 1, modified: 1 },
      upsert: { insertedId: 5, upserted: 1 },
      updateMany: 5,
      findOneAndUpdate: { _id: 3, age: 42 },
      deleteOne: 1,
      remaining: [1, 2, 3, 5],
      collections: ['other', 'people'],
      databases: ['test'],
      dropOther: true,
      collectionsAfterDrop: ['people'],
    });
    const sent = new Set(run.exchanges.map((e) => e.command));
    for (const c of ['insert', 'find', 'count', 'createIndexes', 'listIndexes', 'update',
      'findAndModify', 'delete', 'listCollections', 'listDatabases', 'drop']) {
      assert.ok(sent.has(c), `mongosh did not send ${c}`);
    }
    checkRefusals(t, run);
    assert.deepEqual(mongoshLogProblems(), []);
  });

  it('answers --eval', async (t) => {
    const run = await runMongosh([uri(), '--quiet', '--eval',
      "print('RESULT ' + JSON.stringify({ n: Object.keys(db.evalc.insertMany([{ a: 1 }, { a: 2 }]).insertedIds).length, " +
      "docs: db.evalc.find({}, { _id: 0 }).sort({ a: -1 }).toArray(), " +
      "hello: db.hello().isWritablePrimary, version: db.version() }))"]);
    assert.equal(run.code, 0, `mongosh exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.equal(run.stderr, '');
    const r = result(run.stdout);
    assert.equal(r.n, 2);
    assert.deepEqual(r.docs, [{ a: 2 }, { a: 1 }]);
    assert.equal(r.hello, true);
    assert.match(r.version, /^\d+\.\d+\.\d+$/);
    checkRefusals(t, run);
  });

  it('starts an interactive shell (stdin) with the primary prompt and no server warnings', async (t) => {
    const run = await runMongosh([uri()], [
      'db.shell.insertOne({ _id: 1, s: "hi" })',
      'db.shell.findOne()',
      'show dbs',
      'show collections',
      'exit',
    ].join('\n') + '\n');
    assert.equal(run.code, 0, `mongosh exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.match(run.stdout, /Using MongoDB:\s+\d+\.\d+\.\d+/);
    assert.match(run.stdout, /amalgam \[direct: primary\] test>/);
    assert.match(run.stdout, /insertedId: 1/);
    assert.match(run.stdout, /s: 'hi'/);
    assert.match(run.stdout, /test> test\s+\d+(\.\d+)? [KMG]?i?B\n/); // show dbs
    assert.match(run.stdout, /\nshell\n/); // show collections
    // The greeting shows the server's startupWarnings (getLog) when there are any.
    assert.doesNotMatch(run.stdout, /The server generated these startup warnings/);
    assert.doesNotMatch(run.stdout + run.stderr, /MongoServerError|MongoNetworkError/);
    const sent = new Set(run.exchanges.map((e) => e.command));
    assert.ok(sent.has('getLog'), 'mongosh asked for startup warnings');
    checkRefusals(t, run);
  });
});
