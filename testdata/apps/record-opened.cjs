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
// - the `package.json` files Node's loader reads for each module, which it reads through its
//   own bindings, unseen by `fs`: the nearest one up from the module (its `type`) and, for a
//   module inside `node_modules/<package>/`, the package's own (its `main` and `exports`).
// Only paths that are regular files at exit are written: probes of missing files and folders
// listed with `readdir` are left out (what a listing finds is judged by the handler's answer).
// The files directly in each folder listed with `readdir` (every file below it, for a
// recursive listing) go to FILE.listed instead: not opened, but the handler saw their names,
// so a yardstick of what it relies on counts them (`cargo xtask bench`'s opened zip).
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
  const { readFileSync, statSync, writeFileSync, rmSync, readdirSync } = fs;
  const opened = new Set();
  const modules = new Set();
  // Folder → whether it was listed recursively.
  const listings = new Map();
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
  const listed = (target, options) => {
    try {
      const folder = target instanceof URL ? fileURLToPath(target) : path.resolve(String(target));
      const recursive = typeof options === 'object' && options !== null && !!options.recursive;
      listings.set(folder, recursive || !!listings.get(folder));
    } catch {
      // A path the call itself will reject: nothing listed.
    }
  };
  // Each wrapper keeps the original's properties (`length`, `realpathSync.native`,
  // `promisify.custom`) so code that inspects them sees no difference.
  const wrap = (object, names) => {
    for (const name of names) {
      const original = object[name];
      const wrapper = function (target, ...rest) {
        note(target);
        if (name.startsWith('readdir')) listed(target, rest[0]);
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
    modules.add(filename);
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

  const isFile = (file) => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  // The package.json files the loader reads for a module: the nearest one up from it, and
  // the package's own when it sits in `node_modules/<package>/` (or `<@scope>/<package>/`).
  const manifests = (file) => {
    let folder = path.dirname(file);
    while (folder !== path.dirname(folder) && path.basename(folder) !== 'node_modules') {
      const manifest = path.join(folder, 'package.json');
      if (isFile(manifest)) {
        opened.add(manifest);
        break;
      }
      folder = path.dirname(folder);
    }
    const parts = file.split(path.sep);
    const at = parts.lastIndexOf('node_modules');
    if (at >= 0 && at + 2 < parts.length) {
      const depth = parts[at + 1].startsWith('@') ? 3 : 2;
      opened.add([...parts.slice(0, at + depth), 'package.json'].join(path.sep));
    }
  };
  const walk = (folder, recursive, into) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isFile()) into.add(full);
      else if (recursive && entry.isDirectory()) walk(full, true, into);
    }
  };

  // `exit` handlers run synchronously, also on `process.exit()`, which run-handler.mjs calls.
  process.on('exit', () => {
    for (const key of Object.keys(require.cache)) {
      note(key);
      modules.add(key);
    }
    for (const line of readFileSync(esm, 'utf8').split('\n')) {
      if (line) {
        note(line);
        modules.add(line);
      }
    }
    rmSync(esm, { force: true });
    for (const module of modules) manifests(path.resolve(module));
    const files = [...opened].filter(isFile);
    writeFileSync(into, files.sort().map((file) => `${file}\n`).join(''));
    const seen = new Set();
    for (const [folder, recursive] of listings) walk(folder, recursive, seen);
    writeFileSync(`${into}.listed`, [...seen].sort().map((file) => `${file}\n`).join(''));
  });
}

module.exports = { record };
