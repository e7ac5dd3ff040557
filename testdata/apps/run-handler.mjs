//! Invokes a Lambda Node.js handler locally and prints its JSON result: lamina's e2e tests run it before and after slimming.
// Usage: node run-handler.mjs <function-dir> <handler-spec> <event.json>
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Lambda always sets the region; SDK clients read it from here.
process.env.AWS_REGION ||= 'eu-west-1';

async function main() {
  const [dir, spec, eventFile] = process.argv.slice(2);
  if (!dir || !spec || !eventFile) {
    throw Object.assign(new Error('usage: run-handler.mjs <function-dir> <handler-spec> <event.json>'), {
      code: 'USAGE',
    });
  }
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));

  // Lambda's syntax: "src/index.handler" is export `handler` of src/index.{js,mjs,cjs}, tried in that order.
  const dot = spec.lastIndexOf('.');
  const modulePath = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const base = path.resolve(dir, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (dot <= 0 || !file) {
    throw Object.assign(new Error(`no ${modulePath}.{js,mjs,cjs} in the function folder`), {
      code: 'HANDLER_NOT_FOUND',
    });
  }

  // Lambda runs the handler with the function folder (/var/task) as working directory.
  process.chdir(dir);
  // import() loads CommonJS and ESM alike; a CJS module's exports are also under `default`.
  const mod = await import(pathToFileURL(file).href);
  const handler = mod[exportName] ?? mod.default?.[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${file} exports no function "${exportName}"`), { code: 'HANDLER_NOT_FOUND' });
  }
  return handler(event, { functionName: path.basename(dir), awsRequestId: 'e2e-request' });
}

// Exit as soon as the result is written: like Lambda freezing the process, a handle a handler
// leaves open (a socket, a timer) must not keep the test waiting.
function finish(text, code) {
  process.stdout.write(text + '\n', () => process.exit(code));
}

main().then(
  (result) => finish(JSON.stringify(result, null, 2), 0),
  (err) => finish(`ERROR: ${err?.code ?? err?.name ?? 'Error'} ${err?.message ?? String(err)}`, 1),
);
