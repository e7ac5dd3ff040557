//! lamina e2e app: a fastify route behind @fastify/aws-lambda. The handler loads the rows of the
//! event into SQLite compiled to WebAssembly (sql.js, which reads sql-wasm.wasm next to its code
//! at run time, found here through the documented `locateFile`), aggregates them with SQL and
//! formats the dates with date-fns and its French locale.
const path = require('node:path');
const Fastify = require('fastify');
const awsLambdaFastify = require('@fastify/aws-lambda');
const initSqlJs = require('sql.js');
const { format, parseISO, differenceInCalendarDays } = require('date-fns');
const { fr } = require('date-fns/locale');

// sql.js asks `locateFile` where its .wasm is: the copy beside its own entry point.
const sqlReady = initSqlJs({
  locateFile: (file) => path.join(path.dirname(require.resolve('sql.js')), file),
});

const app = Fastify({ logger: false });
// No Date header: the answer must be the same bytes on every run.
app.addHook('onRequest', async (request, reply) => {
  reply.raw.sendDate = false;
});

app.post('/reports/:team', async (request) => {
  const SQL = await sqlReady;
  const db = new SQL.Database();
  try {
    db.run('CREATE TABLE shipment (id TEXT PRIMARY KEY, city TEXT, kilos REAL, shipped TEXT, delivered TEXT)');
    const insert = db.prepare('INSERT INTO shipment VALUES (?, ?, ?, ?, ?)');
    for (const row of request.body.shipments) {
      insert.run([row.id, row.city, row.kilos, row.shipped, row.delivered]);
    }
    insert.free();
    const [result] = db.exec(
      `SELECT city, COUNT(*) AS shipments, ROUND(SUM(kilos), 2) AS kilos,
              MIN(shipped) AS first, MAX(delivered) AS last
         FROM shipment GROUP BY city ORDER BY kilos DESC, city`,
    );
    const cities = result.values.map(([city, shipments, kilos, first, last]) => ({
      city,
      shipments,
      kilos,
      first: format(parseISO(first), 'EEEE d MMMM yyyy', { locale: fr }),
      last: format(parseISO(last), 'PPP', { locale: fr }),
      spanDays: differenceInCalendarDays(parseISO(last), parseISO(first)),
    }));
    return { team: request.params.team, sqlite: db.exec('SELECT sqlite_version()')[0].values[0][0], cities };
  } finally {
    db.close();
  }
});

exports.handler = awsLambdaFastify(app);
