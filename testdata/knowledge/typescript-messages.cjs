// Proof of the `[[node.data]]` entry for TypeScript's `lib/*/diagnosticMessages.generated.json`
// (data/packages.toml), run with the folder of an installed app as the working directory: the
// compiler APIs a function calls, each given the `locale` option or flag in every supported
// locale, must read none of the translated messages; then `validateLocaleAndSetLanguage` must
// read one (so the probe can see a read), and `executeCommandLine` with `--locale` too.
// Prints what it saw as JSON; exits 1 when the entry does not hold.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Every locale TypeScript ships messages for, listed before the reads are watched.
const LOCALES = fs
  .readdirSync(path.resolve('node_modules/typescript/lib'))
  .filter((name) => fs.existsSync(path.resolve('node_modules/typescript/lib', name, 'diagnosticMessages.generated.json')));

// TypeScript reads through `fs` at call time: wrap the reads it uses before loading it.
const read = [];
for (const name of ['readFileSync', 'openSync', 'statSync', 'existsSync']) {
  const original = fs[name];
  fs[name] = function (target, ...rest) {
    if (String(target).endsWith('diagnosticMessages.generated.json')) read.push(String(target));
    return original.call(this, target, ...rest);
  };
}
const ts = require(path.resolve('node_modules/typescript'));

const SOURCE = 'const n: number = "text";\nexport const twice = (x: number) => x * 2;\n';

function compilerApis(locale, dir) {
  const file = path.join(dir, 'input.ts');
  fs.writeFileSync(file, SOURCE);
  const options = { locale, strict: true, noEmit: true, target: ts.ScriptTarget.ES2022 };
  const program = ts.createProgram([file], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  });
  ts.transpileModule(SOURCE, { compilerOptions: { locale }, reportDiagnostics: true });
  ts.parseCommandLine(['--locale', locale, file]);
  const config = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({ compilerOptions: { locale, strict: true }, files: ['input.ts'] }));
  const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} });
  const service = ts.createLanguageService({
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) => (fs.existsSync(name) ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, 'utf8')) : undefined),
    getCurrentDirectory: () => dir,
    getCompilationSettings: () => parsed.options,
    getDefaultLibFileName: (settings) => ts.getDefaultLibFilePath(settings),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
  });
  return service.getSemanticDiagnostics(file).length + diagnostics.length;
}

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamina-ts-messages-'));
  try {
    let found = 0;
    for (const locale of LOCALES) found += compilerApis(locale, dir);
    const byOtherApis = [...read];

    ts.validateLocaleAndSetLanguage('ja', ts.sys);
    const byValidate = read.slice(byOtherApis.length);

    const before = read.length;
    const output = [];
    const system = { ...ts.sys, write: (text) => output.push(text), exit: () => {} };
    ts.executeCommandLine(system, () => {}, ['--locale', 'de', '--version']);
    const byCommandLine = read.slice(before);

    const seen = {
      locales: LOCALES,
      diagnostics_found: found,
      read_by_other_apis: byOtherApis,
      read_by_validateLocaleAndSetLanguage: byValidate,
      read_by_executeCommandLine: byCommandLine,
    };
    seen.holds = LOCALES.length >= 10
      && found > 0
      && byOtherApis.length === 0
      && byValidate.some((file) => file.endsWith(path.join('ja', 'diagnosticMessages.generated.json')))
      && byCommandLine.some((file) => file.endsWith(path.join('de', 'diagnosticMessages.generated.json')));
    console.log(JSON.stringify(seen, null, 2));
    process.exitCode = seen.holds ? 0 : 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
