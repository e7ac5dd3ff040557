//! lamina e2e app: a handler shaped like a Postgres-backed API, offline. pg's type parsers turn
//! the event's raw column text into values (int8, numeric arrays, timestamptz, interval, bytea,
//! json), a Client that never connects reads its connection string and escapes an identifier and
//! a literal, and bluebird's Promise.map / Promise.props / .get / .call / promisify assemble the
//! answer.
const Promise = require('bluebird');
const pg = require('pg');

// A node-style callback API, promisified as code from before async/await does.
const parseLater = Promise.promisify((text, done) => setImmediate(() => done(null, JSON.parse(text))));

// OIDs of the built-in Postgres types the event's columns carry.
const OIDS = { int8: 20, json: 114, int4Array: 1007, bytea: 17, timestamptz: 1184, interval: 1186 };

exports.handler = async (event) => {
  const client = new pg.Client({ connectionString: event.connectionString });
  const parse = (type, text) => pg.types.getTypeParser(OIDS[type], 'text')(text);

  const rows = await Promise.map(
    event.rows,
    async (row) => ({
      id: parse('int8', row.id),
      scores: parse('int4Array', row.scores),
      at: parse('timestamptz', row.at).toISOString(),
      wait: parse('interval', row.wait).toPostgres(),
      payload: parse('json', row.payload),
      digest: parse('bytea', row.digest).toString('hex'),
    }),
    { concurrency: 2 },
  );

  return Promise.props({
    connection: {
      host: client.connectionParameters.host,
      port: client.connectionParameters.port,
      database: client.connectionParameters.database,
      user: client.connectionParameters.user,
      ssl: Boolean(client.connectionParameters.ssl),
    },
    query: `SELECT * FROM ${client.escapeIdentifier(event.table)} WHERE note = ${client.escapeLiteral(event.note)}`,
    rows,
    total: Promise.reduce(rows, (sum, row) => sum + row.scores.reduce((a, b) => a + b, 0), 0),
    bluebird: Promise.resolve(rows.length).delay(1).then((count) => `${count} rows`),
    // bluebird's .get/.call and promisify, which build their functions with new Function.
    firstId: Promise.resolve(rows).get(0).get('id'),
    quoted: Promise.resolve(client).call('escapeIdentifier', event.table),
    firstPayload: parseLater(event.rows[0].payload),
  });
};
