'use strict';
// serverless-lamina: after the Serverless Framework has packaged a service, builds its functions
// with lamina (one call for the service, from the framework's resolved configuration) and points
// each function's artifact at lamina's zip. Plain CommonJS; its only dependency is lamina-cli,
// the launcher that runs the lamina binary (or LAMINA_BIN, when set).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

// What the framework (v3, lib/plugins/package/lib/package-service.js) never packs.
const FRAMEWORK_EXCLUDES = [
  '.git/**',
  '.gitignore',
  '.DS_Store',
  'npm-debug.log',
  'yarn-*.log',
  '.serverless/**',
  '.serverless_plugins/**',
];

// Runtimes lamina builds; other functions keep the framework's artifact.
const RUNTIMES = /^(nodejs|python3|provided)/;

// lamina's exit codes.
const LIMIT_FAILED = 1;
const BAD_INPUT = 2;

/** Items of `lists` in order, each once (lodash's `union`, as the framework merges patterns). */
function union(...lists) {
  const seen = new Set();
  const out = [];
  for (const item of lists.flat()) {
    if (typeof item === 'string' && !seen.has(item)) {
      seen.add(item);
      out.push(item);
    }
  }
  return out;
}

/** The command that runs lamina: LAMINA_BIN, else the lamina-cli launcher with this Node. */
function laminaCommand() {
  if (process.env.LAMINA_BIN) return [process.env.LAMINA_BIN];
  let launcher;
  try {
    launcher = require.resolve('lamina-cli/bin/lamina.js');
  } catch (error) {
    return null;
  }
  return [process.execPath, launcher];
}

class LaminaPlugin {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options || {};
    const log = utils && utils.log;
    this.log = {
      notice: (text) => (log ? log.notice(text) : console.log(text)),
      warning: (text) => (log ? log.warning(text) : console.error(text)),
    };
    this.userArtifacts = new Set();
    this.userServiceArtifact = false;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.remember(),
      'after:package:createDeploymentArtifacts': () => this.build(),
      // `sls deploy function -f NAME` packages one function through this lifecycle.
      'before:package:function:package': () => this.remember(),
      'after:package:function:package': () => this.build(this.options.function),
    };
  }

  /** Artifacts the user set before the framework packaged: those functions are left alone. */
  remember() {
    const service = this.serverless.service;
    for (const name of service.getAllFunctions()) {
      const fn = service.getFunction(name);
      if (fn.package && fn.package.artifact) this.userArtifacts.add(name);
    }
    this.userServiceArtifact = Boolean(service.package && service.package.artifact);
  }

  error(message) {
    const ServerlessError = this.serverless.classes && this.serverless.classes.Error;
    return ServerlessError ? new ServerlessError(message) : new Error(message);
  }

  /** `package.patterns` as the framework applies them to `fn`, lamina's syntax being the same. */
  patterns(fn, individually) {
    const service = this.serverless.service;
    const servicePackage = service.package || {};
    const own = fn.package || {};
    const plugins = service.plugins;
    const localPath = plugins && !Array.isArray(plugins) ? plugins.localPath : undefined;
    const layers = service
      .getAllLayers()
      .map((layer) => service.getLayer(layer).path)
      .filter(Boolean)
      .map((layerPath) => `${layerPath}/**`);
    const input = this.serverless.configurationInput;
    const excludes = union(
      FRAMEWORK_EXCLUDES,
      this.serverless.configurationFilename ? [this.serverless.configurationFilename] : [],
      typeof localPath === 'string' && !path.isAbsolute(localPath) ? [localPath] : [],
      servicePackage.exclude || [],
      layers,
      input && input.useDotenv ? ['.env*'] : [],
      individually ? own.exclude || [] : []
    );
    const includes = union(
      servicePackage.include || [],
      servicePackage.patterns || [],
      individually ? [...(own.include || []), ...(own.patterns || [])] : []
    );
    return [
      ...excludes.map((pattern) => (pattern.startsWith('!') ? pattern.slice(1) : `!${pattern}`)),
      ...includes,
    ];
  }

  async build(only) {
    const serverless = this.serverless;
    const service = serverless.service;
    const provider = service.provider || {};
    const serviceDir = serverless.serviceDir || (serverless.config && serverless.config.servicePath);
    const out = path.join(serviceDir, '.serverless');
    const settings = (service.custom && service.custom.lamina) || {};
    const extraArgs = settings.args || [];
    if (!Array.isArray(extraArgs) || extraArgs.some((arg) => typeof arg !== 'string')) {
      throw this.error('serverless-lamina: custom.lamina.args must be a list of strings');
    }
    const serviceIndividually = Boolean(service.package && service.package.individually);
    const aws = serverless.getProvider && serverless.getProvider('aws');

    const functions = {};
    for (const name of service.getAllFunctions()) {
      if (only && name !== only) continue;
      const fn = service.getFunction(name);
      const own = fn.package || {};
      if (fn.image || own.disable || this.userArtifacts.has(name)) continue;
      const individually = serviceIndividually || Boolean(own.individually);
      if (!individually && this.userServiceArtifact) continue;
      const runtime = aws ? aws.getRuntime(fn.runtime) : fn.runtime || provider.runtime;
      if (!RUNTIMES.test(runtime || '')) {
        this.log.warning(`lamina: ${name} (${runtime}) keeps the framework's artifact: lamina builds Node.js, Python and custom-runtime functions`);
        continue;
      }
      functions[name] = {
        handler: fn.handler,
        runtime,
        architecture: fn.architecture || provider.architecture || 'x86_64',
        environment: { ...(provider.environment || {}), ...(fn.environment || {}) },
        package: { individually: true, patterns: this.patterns(fn, individually) },
      };
    }
    const names = Object.keys(functions);
    if (names.length === 0) return;

    const command = laminaCommand();
    if (!command) {
      throw this.error('serverless-lamina: cannot find lamina: install lamina-cli next to the plugin, or set LAMINA_BIN to a lamina binary');
    }
    // The resolved configuration (variables, files and other plugins already applied), for
    // lamina to read as a serverless.yml of this folder. lamina never walks or ships names
    // starting with `.lamina-`; the file is removed when lamina is done.
    const project = path.join(serviceDir, `.lamina-project-${process.pid}.yml`);
    const resolved = {
      service: service.service,
      provider: { name: 'aws' },
      package: { individually: true },
      functions,
    };
    fs.writeFileSync(project, `${JSON.stringify(resolved, null, 2)}\n`, { mode: 0o600 });
    let result;
    try {
      result = spawnSync(
        command[0],
        [...command.slice(1), 'build', project, '--out', out, '--layers', 'none', ...extraArgs],
        { cwd: serviceDir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }
      );
    } finally {
      fs.rmSync(project, { force: true });
    }
    if (result.error) {
      throw this.error(`serverless-lamina: could not run ${command.join(' ')}: ${result.error.message}`);
    }
    const summary = (result.stdout || '').trimEnd();
    const messages = (result.stderr || '').trimEnd();
    if (summary) this.log.notice(summary);
    if (result.status === BAD_INPUT || result.status === null) {
      const why = result.status === null ? `was ended by ${result.signal}` : `refused the input (exit ${result.status})`;
      throw this.error(`lamina ${why}:\n${messages}`);
    }
    if (messages) this.log.warning(messages);
    if (result.status === LIMIT_FAILED) {
      throw this.error(`lamina: an artifact failed a Lambda limit or check (see the summary above; report: ${path.join(out, 'report.json')})`);
    }
    if (result.status !== 0) {
      throw this.error(`lamina exited with ${result.status}:\n${messages}`);
    }

    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const built = new Map(report.functions.map((entry) => [entry.name, entry]));
    for (const name of names) {
      const entry = built.get(name);
      const artifact = entry && path.resolve(serviceDir, entry.artifact);
      if (!artifact || !fs.existsSync(artifact)) {
        throw this.error(`serverless-lamina: lamina's report names no artifact for ${name} in ${out}`);
      }
      const fn = service.getFunction(name);
      fn.package = fn.package || {};
      fn.package.artifact = artifact;
    }

    // The framework's one zip for the service, once no function uses it any more.
    const serviceArtifact = service.package && service.package.artifact;
    if (serviceArtifact && !this.userServiceArtifact) {
      const stillUsed = service.getAllFunctions().some((name) => {
        const fn = service.getFunction(name);
        return !fn.image && !(fn.package && (fn.package.disable || fn.package.artifact));
      });
      if (!stillUsed) {
        fs.rmSync(path.resolve(serviceDir, serviceArtifact), { force: true });
        delete service.package.artifact;
        delete service.artifact;
      }
    }
    if (!serviceIndividually) {
      this.log.notice('lamina: each function now deploys its own artifact (package.individually is false: the framework would have deployed one zip for the service)');
    }
  }
}

module.exports = LaminaPlugin;
