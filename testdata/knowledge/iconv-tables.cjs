// Proof of the `[[node.data]]` entries for iconv-lite's `encodings/tables` (data/packages.toml),
// run with the folder of an installed app as the working directory: express's `json()` and
// `urlencoded()` parsers are sent a body in every charset iconv-lite has a table for (and in
// some it decodes without one); no request may load a table. Then `text()` is sent one, which
// must load its table: the probe can see a load. Prints what it saw as JSON; exits 1 when the
// entry does not hold.
'use strict';

const path = require('node:path');
const http = require('node:http');
const express = require(path.resolve('node_modules/express'));

// Every name iconv-lite's dbcs-data.js builds a table codec for, by its tables.
const TABLED = [
  'shift_jis', 'windows-31j', 'euc-jp', 'gb2312', 'gbk', 'cp936', 'gb18030', 'euc-kr', 'cp949',
  'big5', 'big5-hkscs', 'cp950',
];
// Decoded without a table: these must be accepted or refused the same way, and load none.
const UNTABLED = ['utf-8', 'utf-16le', 'iso-8859-1', 'koi8-r'];

const tables = () =>
  Object.keys(require.cache).filter((file) =>
    file.split(path.sep).join('/').includes('/iconv-lite/encodings/tables/'));

async function main() {
  const app = express();
  app.post('/json', express.json(), (req, res) => res.json({ body: req.body }));
  app.post('/form', express.urlencoded({ extended: false }), (req, res) => res.json({ body: req.body }));
  app.post('/text', express.text({ type: '*/*' }), (req, res) => res.json({ body: req.body }));
  app.use((err, req, res, next) => res.status(err.status || 500).json({ error: err.type }));
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const post = async (route, type, charset, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${route}`, {
      method: 'POST',
      headers: { 'content-type': `${type}; charset=${charset}` },
      body,
    });
    return res.status;
  };
  const seen = { json: {}, form: {} };
  try {
    for (const charset of [...TABLED, ...UNTABLED]) {
      seen.json[charset] = await post('/json', 'application/json', charset, '{"a":1}');
      seen.form[charset] = await post('/form', 'application/x-www-form-urlencoded', charset, 'a=1');
    }
    seen.tables_after_json_and_form = tables();
    seen.text = await post('/text', 'text/plain', 'shift_jis', Buffer.from([0x82, 0xa0]));
    seen.tables_after_text = tables();
  } finally {
    server.close();
  }
  const refused = TABLED.every((charset) => seen.json[charset] === 415 && seen.form[charset] === 415);
  const holds =
    refused &&
    seen.json['utf-8'] === 200 &&
    seen.tables_after_json_and_form.length === 0 &&
    seen.text === 200 &&
    seen.tables_after_text.length > 0;
  console.log(JSON.stringify({ holds, ...seen }));
  process.exitCode = holds ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
