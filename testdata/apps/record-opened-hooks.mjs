//! The ES module half of record-opened.cjs: a `module.register` hook, run on the loader's thread, that appends the path of every `file:` module loaded to the file it is given.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let into;

export function initialize(data) {
  into = data.into;
}

// Appended synchronously before the module is handed back, so the main thread's exit handler
// finds every line.
export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) appendFileSync(into, `${fileURLToPath(url)}\n`);
  return nextLoad(url, context);
}
