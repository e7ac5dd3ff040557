//! Invokes a Lambda Node.js handler locally and prints its JSON result: lamina's e2e tests run it before and after slimming.
// Usage: node run-handler.mjs <function-dir> <handler-spec> <event.json>
// With LAMINA_E2E_OPENED=FILE it also writes FILE: every file the run loaded or read
// (record-opened.cjs says what counts), one absolute path a line, sorted.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Lambda always sets the region; SDK clients read it from here.
process.env.AWS_REGION ||= 'eu-west-1';

async function main() {
  if (process.env.LAMINA_E2E_OPENED) {
    createRequire(import.meta.url)('./record-opened.cjs').record(path.resolve(process.env.LAMINA_E2E_OPENED));
  }
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
  return invoke(handler, event, lambdaContext(dir));
}

// The context Lambda passes: its fields and `getRemainingTimeInMillis()`. The function's name is
// `AWS_LAMBDA_FUNCTION_NAME` when set (as on Lambda), else the folder's, so a handler that
// echoes it answers the same from any folder only when the variable is set.
function lambdaContext(dir) {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME || path.basename(dir);
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: 'e2e-request',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2024/01/01/[$LATEST]e2e',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// As Lambda's Node runtime: a returned promise decides the answer; otherwise the handler answers
// through `callback(error, result)`. A plain (non-promise) return from a handler that takes no
// callback is its answer.
function invoke(handler, event, context) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err ? reject(err) : resolve(result));
    const returned = handler(event, context, callback);
    if (returned && typeof returned.then === 'function') {
      returned.then(resolve, reject);
    } else if (handler.length < 3) {
      resolve(returned);
    }
  });
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
