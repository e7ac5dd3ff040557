//! lamina e2e app: an admin console posts pricing rules written in TypeScript; the function
//! type-checks each against the rule API (rules/api.d.ts) and TypeScript's default libraries
//! (read from typescript/lib at run time), compiles the ones that pass and runs them on a sample
//! basket.
const path = require('node:path');
const ts = require('typescript');

const API = path.join(__dirname, 'rules', 'api.d.ts');
const OPTIONS = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  strict: true,
  noEmit: true,
  types: [],
};

// Type-checks one rule's source with the default compiler host, which reads lib.es2022*.d.ts
// next to typescript.js: without them every rule fails with "Cannot find global type 'Array'".
function check(name, source) {
  const file = path.join('/virtual', `${name}.ts`);
  const host = ts.createCompilerHost(OPTIONS);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError) =>
    fileName === file
      ? ts.createSourceFile(fileName, source, language, true)
      : read(fileName, language, onError);
  const exists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === file || exists(fileName);
  const program = ts.createProgram([file, API], OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file && diagnostic.start !== undefined
      ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      : undefined;
    return {
      code: diagnostic.code,
      at: where ? `${where.line + 1}:${where.character + 1}` : null,
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '),
    };
  });
}

function run(source, basket) {
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS },
  });
  const module = { exports: {} };
  new Function('module', 'exports', outputText)(module, module.exports);
  const rule = module.exports.default ?? module.exports.rule;
  return { compiled: outputText.split('\n').length, adjustments: rule(basket) };
}

exports.handler = async (event) => {
  const { rules, basket } = JSON.parse(event.body);
  const results = {};
  for (const [name, source] of Object.entries(rules)) {
    const diagnostics = check(name, source);
    results[name] = diagnostics.length > 0 ? { diagnostics } : run(source, basket);
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ typescript: ts.version, results }),
  };
};
