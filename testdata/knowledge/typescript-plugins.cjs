// Proof of the `[[node.loads]]` entry for typescript's `require(modulePath)` (data/packages.toml),
// run with the folder of an installed app as the working directory: `sys.require(baseDir, name)`,
// which tsserver's plugin loader calls with the names its configuration gives, must load the
// module that name resolves to from `baseDir` and nothing of TypeScript's own; a name that
// resolves nowhere loads nothing. Prints what it saw as JSON; exits 1 when the entry does not
// hold.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ts = require(path.resolve('node_modules/typescript'));

const loaded = () => new Set(Object.keys(require.cache));

function main() {
  // A plugin package in a project folder of its own, as a tsconfig's `plugins` would name it.
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ts-plugin-'));
  try {
    const folder = path.join(project, 'node_modules', 'lamina-probe-plugin');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'package.json'), '{"name":"lamina-probe-plugin","main":"plugin.js"}');
    fs.writeFileSync(path.join(folder, 'plugin.js'), 'module.exports = () => ({ create: (info) => info.languageService });');
    const plugin = fs.realpathSync(path.join(folder, 'plugin.js'));

    const before = loaded();
    const found = ts.sys.require(project, 'lamina-probe-plugin');
    const named = [...loaded()].filter((file) => !before.has(file));
    const missing = ts.sys.require(project, 'lamina-no-such-plugin');
    const after = [...loaded()].filter((file) => !before.has(file));

    const seen = {
      plugin_loaded: typeof found.module === 'function' && found.error === undefined,
      loaded_by_name: named,
      missing_is_an_error: missing.module === undefined && missing.error instanceof Error,
      loaded_in_all: after,
    };
    seen.holds = seen.plugin_loaded
      && named.length === 1 && named[0] === plugin
      && seen.missing_is_an_error
      && after.length === 1;
    console.log(JSON.stringify(seen, null, 2));
    process.exitCode = seen.holds ? 0 : 1;
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
}

main();
