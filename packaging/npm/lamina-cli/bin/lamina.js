#!/usr/bin/env node
// lamina's npm launcher: runs the lamina binary of the platform package npm installed beside
// this one (an optional dependency per platform, chosen by its os/cpu/libc fields), passing the
// arguments, the exit code and the ending signal through. Nothing is downloaded at install or
// run time.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const platform = `${process.platform}-${process.arch}`;
const packageName = `@lamina-cli/${platform}`;
const executable = process.platform === "win32" ? "lamina.exe" : "lamina";

/** Only glibc builds exist for Linux; musl (Alpine) gets no platform package. */
function isMusl() {
  if (process.platform !== "linux") return false;
  const header = process.report && process.report.getReport().header;
  return Boolean(header) && !header.glibcVersionRuntime;
}

function binaryPath() {
  try {
    const manifest = require.resolve(`${packageName}/package.json`);
    return path.join(path.dirname(manifest), "bin", executable);
  } catch {
    const why = isMusl()
      ? "lamina ships no musl (Alpine) build"
      : `the optional dependency ${packageName} is not installed (npm skips it with ` +
        "--no-optional / --omit=optional, and there is none for other platforms)";
    process.stderr.write(
      `lamina-cli: no lamina binary for ${platform}: ${why}.\n` +
        "Install lamina another way: pip install lamina-cli, or cargo install from a checkout.\n",
    );
    process.exit(2);
  }
}

const child = spawn(binaryPath(), process.argv.slice(2), { stdio: "inherit" });

// A signal sent to this process (CI cancelling a job, `kill`) goes on to lamina, which removes
// its build in progress before exiting; this process ends as lamina ends.
const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"];
const forward = (signal) => child.kill(signal);
for (const signal of forwarded) process.on(signal, forward);

child.on("error", (error) => {
  process.stderr.write(`lamina-cli: cannot run ${child.spawnfile}: ${error.message}\n`);
  process.exit(2);
});

child.on("exit", (code, signal) => {
  for (const name of forwarded) process.off(name, forward);
  if (signal) {
    process.kill(process.pid, signal);
  } else {
    process.exitCode = code;
  }
});
