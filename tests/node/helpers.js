'use strict';
// Shared bits for the driver tests: a MongoClient against one amalgamd with bounded timeouts.
const { MongoClient } = require('mongodb');

const CLIENT_DEFAULTS = {
  serverSelectionTimeoutMS: 10000,
  connectTimeoutMS: 10000,
  socketTimeoutMS: 20000,
};

async function connect(server, params = 'directConnection=true', options = {}) {
  const client = new MongoClient(server.uri(params), { ...CLIENT_DEFAULTS, ...options });
  await client.connect();
  return client;
}

module.exports = { connect, CLIENT_DEFAULTS };
