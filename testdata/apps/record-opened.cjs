//! Records every file a Node.js run loads or reads, for lamina's e2e tests and bench: `run-handler.mjs` calls `record(FILE)` when `LAMINA_E2E_OPENED=FILE` is set, before it imports the handler.
'use strict';
// What counts, one absolute path a line, sorted, written when the process exits:
// - CommonJS modules: every file `Module.prototype.load` loads (JS, JSON, `.node`) and the keys
//   of `require.cache`;
// - ES modules: every `file:` URL the loader loads, seen by a `module.register` hook that runs on
//   the loader's own thread and appends to FILE.esm (merged here at exit);
// - native addons: every path given to `process.dlopen`;
// - files read or probed through `fs` (`.wasm` files, templates, fonts, locale data): the paths
//   given to the calls below, on `fs` and `fs.promises` (`syncBuiltinESMExports` makes
//   `import { readFileSync } from 'node:fs'` see the wrapped calls too).
// Only paths that are regular files at exit are written: probes of missing files and folders
// listed with `readdir` are left out (what a listing finds is judged by the handler's answer).
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const { fileURLToPath, pathToFileURL } = require('node:url');

const SYNC_AND_CALLBACK = [
  'readFileSync', 'readFile', 'openSync', 'open', 'createReadStream', 'existsSync', 'statSync',
  'stat', 'lstatSync', 'lstat', 'accessSync', 'access', 'readdirSync', 'readdir', 'realpathSync',
];
const PROMISES = ['readFile', 'open', 'stat', 'lstat', 'access', 'readdir', 'realpath'];

function record(into) {
  // The recorder's own reads go through the unwrapped calls.
  const { readFileSync, statSync, writeFileSync, rmSync } = fs;
  const opened = new Set();
  // fs takes a path as a string, a Buffer or a file: URL; a number is an open descriptor.
  const note = (target) => {
    try {
      if (typeof target === 'string' || Buffer.isBuffer(target)) {
        opened.add(path.resolve(String(target)));
      } else if (target instanceof URL && target.protocol === 'file:') {
        opened.add(fileURLToPath(target));
      }
    } catch {
      // A path the call itself will reject: nothing to record.
    }
  };
  // Each wrapper keeps the original's properties (`length`, `realpathSync.native`,
  // `promisify.custom`) so code that inspects them sees no difference.
  const wrap = (object, names) => {
    for (const name of names) {
      const original = object[name];
      const wrapper = function (target, ...rest) {
        note(target);
        return original.call(this, target, ...rest);
      };
      Object.defineProperties(wrapper, Object.getOwnPropertyDescriptors(original));
      object[name] = wrapper;
    }
  };
  wrap(fs, SYNC_AND_CALLBACK);
  wrap(fs.promises, PROMISES);
  Module.syncBuiltinESMExports();

  const load = Module.prototype.load;
  Module.prototype.load = function (filename) {
    note(filename);
    return load.call(this, filename);
  };
  const dlopen = process.dlopen;
  process.dlopen = function (module, filename, ...rest) {
    note(filename);
    return dlopen.call(this, module, filename, ...rest);
  };

  const esm = `${into}.esm`;
  writeFileSync(esm, '');
  Module.register(pathToFileURL(path.join(__dirname, 'record-opened-hooks.mjs')), {
    data: { into: esm },
  });

  // `exit` handlers run synchronously, also on `process.exit()`, which run-handler.mjs calls.
  process.on('exit', () => {
    for (const key of Object.keys(require.cache)) note(key);
    for (const line of readFileSync(esm, 'utf8').split('\n')) if (line) note(line);
    rmSync(esm, { force: true });
    const files = [...opened].filter((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
    writeFileSync(into, files.sort().map((file) => `${file}\n`).join(''));
  });
}

module.exports = { record };
