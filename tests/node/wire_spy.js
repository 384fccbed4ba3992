'use strict';
// A TCP proxy on 127.0.0.1 that forwards a client to amalgamd and records every command and its
// reply (OP_MSG and legacy OP_QUERY/OP_REPLY), so a test can say exactly which command a client
// such as mongosh sent and what amalgamd answered.
const net = require('node:net');
const { BSON } = require('mongodb');

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

// Splits a byte stream into wire messages; calls onMessage(opCode, requestId, responseTo, body).
function messageSplitter(onMessage) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 16) {
      const len = buf.readInt32LE(0);
      if (len < 16 || buf.length < len) break;
      const msg = buf.subarray(0, len);
      buf = buf.subarray(len);
      try {
        onMessage(msg.readInt32LE(12), msg.readInt32LE(4), msg.readInt32LE(8), msg.subarray(16));
      } catch { /* unparseable: the proxy still forwards the bytes */ }
    }
  };
}

function bodyDocument(opCode, body) {
  const parse = (at) => BSON.deserialize(body.subarray(at, at + body.readInt32LE(at)),
    { promoteValues: true, promoteBuffers: true });
  if (opCode === OP_MSG) {
    // flagBits, then sections; kind 0 carries the command or reply body.
    let at = 4;
    while (at < body.length) {
      const kind = body[at];
      at += 1;
      if (kind === 0) return parse(at);
      at += body.readInt32LE(at); // kind 1: size covers identifier and documents
    }
    return null;
  }
  if (opCode === OP_QUERY) {
    let at = 4; // flags
    const nameEnd = body.indexOf(0, at);
    const collection = body.toString('utf8', at, nameEnd);
    at = nameEnd + 1 + 8; // numberToSkip, numberToReturn
    const doc = parse(at);
    return { $collection: collection, ...doc };
  }
  if (opCode === OP_REPLY) return parse(20); // responseFlags, cursorID, startingFrom, numberReturned
  return null;
}

function commandName(doc) {
  let d = doc;
  if (d && d.$query && typeof d.$query === 'object') d = d.$query; // legacy wrapped query
  return d ? Object.keys(d).find((k) => k !== '$collection') : undefined;
}

class WireSpy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.exchanges = []; // { command, request, reply }
    this.sockets = new Set();
    this.server = net.createServer((client) => this.onClient(client));
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  onClient(client) {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const pending = new Map();
    client.on('data', messageSplitter((op, requestId, _to, body) => {
      const request = bodyDocument(op, body);
      if (!request) return;
      const exchange = { command: commandName(request), request, reply: null };
      this.exchanges.push(exchange);
      pending.set(requestId, exchange);
    }));
    upstream.on('data', messageSplitter((op, _id, responseTo, body) => {
      const exchange = pending.get(responseTo);
      if (!exchange) return;
      pending.delete(responseTo);
      exchange.reply = bodyDocument(op, body);
    }));
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => { client.destroy(); upstream.destroy(); };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', () => { this.sockets.delete(client); done(); });
    upstream.on('close', () => { this.sockets.delete(upstream); done(); });
  }

  // Exchanges whose reply has ok != 1 (the server refused the command).
  failures() {
    return this.exchanges.filter((e) => e.reply && e.reply.ok !== 1);
  }

  commands() {
    return this.exchanges.map((e) => e.command);
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function startSpy(targetPort) {
  return new WireSpy(targetPort).listen();
}

module.exports = { startSpy };
