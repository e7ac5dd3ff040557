//! lamina e2e app: SQLite compiled to WebAssembly (sql.js finds sql-wasm.wasm next to its code at
//! run time) and a napi-rs native hash (@node-rs/xxhash loads the .node file of this platform's
//! optional package). Both answers are deterministic.
const initSqlJs = require('sql.js');
const { xxh64, xxh32 } = require('@node-rs/xxhash');

exports.handler = async (event) => {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run('CREATE TABLE fruit (name TEXT, qty INTEGER)');
  for (const [name, qty] of event.fruit) {
    db.run('INSERT INTO fruit VALUES (?, ?)', [name, qty]);
  }
  const rows = db.exec('SELECT name, qty FROM fruit WHERE qty > 1 ORDER BY name')[0].values;
  db.close();
  return {
    rows,
    xxh32: xxh32(event.text).toString(16),
    xxh64: xxh64(event.text).toString(16),
  };
};
