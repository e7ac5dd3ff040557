//! `--smoke` for Python: the local `python3.X` runs lamina's loader script isolated (`-I -S`)
//! with `sys.path` as Lambda builds it (`/var/task`, the layers' folders, the runtime's own),
//! calls the handler with `(event, context)`, and stands in itself for runtime modules the
//! input does not have (it says which).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::error::Result;
use crate::lambda::Runtime;
use crate::model::{Function, Inventory};
use crate::smoke::{Layout, Loader};

/// The Python side of the smoke run.
pub struct PythonLoader;

impl Loader for PythonLoader {
    fn interpreters(&self, runtime: Runtime) -> (Vec<String>, String, String) {
        let (major, minor) = runtime.python_version().unwrap_or((3, 12));
        (
            vec![format!("python{major}.{minor}"), "python3".to_string()],
            // `version` gives `3.11.7`: compared with `3.11.`, so 3.1 is not 3.11.
            format!("{major}.{minor}."),
            format!("Python {major}.{minor}"),
        )
    }

    fn script(&self) -> (&'static str, &'static str) {
        ("lamina_smoke.py", PYTHON_LOADER)
    }

    fn runtime_folder(&self) -> Option<&'static str> {
        Some("runtime")
    }

    fn arguments(
        &self,
        command: &mut Command,
        function: &Function,
        layout: &Layout,
        loader: &Path,
        (module, export): (&str, &str),
        event: &str,
        result: &Path,
    ) -> Vec<(String, String)> {
        // Lambda's sys.path: `/var/task`, the layers' folders, the runtime's own.
        command.arg("-I").arg("-S").arg(loader).arg(&layout.task);
        for folder in crate::lambda::layers::search_folders(function.runtime) {
            command.arg(layout.opt.join(folder));
        }
        command
            .arg(&layout.runtime)
            .arg(module.replace('/', "."))
            .arg(export)
            .arg(event)
            .arg(result);
        Vec::new()
    }

    /// The loader stands in for what is missing itself, and says which.
    fn stand_in(
        &self,
        _inventory: &Inventory,
        _runtime: &Path,
        _installed: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// The traceback's last line (`KeyError: 'TABLE'`).
    fn error_key<'a>(&self, text: &'a str) -> &'a str {
        text.lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or("")
    }

    fn frames_last(&self) -> bool {
        true
    }
}

const PYTHON_LOADER: &str = r#"# lamina --smoke: loads the handler and, with an event, calls it as Lambda's Python runtime does.
# Run with -I -S: nothing of the machine's own site-packages is on sys.path.
import importlib, importlib.abc, importlib.machinery, json, os, sys, time, types

task, opt_site, opt_python, runtime, module_name, name, event_file, result_file = sys.argv[1:9]
deadline = time.monotonic() + int(os.environ.get("LAMINA_SMOKE_TIMEOUT_MS", "60000")) / 1000
# Lambda's order: the function, the layers (the site dir reads .pth files), then the runtime's.
sys.path[:0] = [task, opt_site, opt_python, runtime]
import site
site.addsitedir(opt_site)

SDK = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}

class _Stub:
    """Loads, calls, subclasses and chains: stands in for the runtime's SDK when absent."""
    def __init__(self, *args, **kwargs): pass
    def __call__(self, *args, **kwargs): return _Stub()
    def __getattr__(self, key):
        if key.startswith("__"): raise AttributeError(key)
        return _Stub()
    def __iter__(self): return iter(())
    def __bool__(self): return True

class _StubModule(types.ModuleType):
    def __getattr__(self, key):
        if key.startswith("__"): raise AttributeError(key)
        return type(key, (_Stub, Exception), {})

class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top not in SDK:
            return None
        # Only for what is missing: a shipped package's own submodules (six.moves, found by
        # six's importer later in sys.meta_path) are never stood in for.
        loaded = sys.modules.get(top)
        if loaded is not None and not isinstance(loaded, _StubModule):
            return None
        if "." not in fullname and importlib.machinery.PathFinder.find_spec(fullname) is not None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
    def create_module(self, spec):
        if "." not in spec.name:
            with open(os.path.join(os.environ["HOME"], "stand-ins.txt"), "a") as f:
                f.write(spec.name + "\n")
        module = _StubModule(spec.name)
        module.__path__ = []
        return module
    def exec_module(self, module): pass

# Last: only what nothing on the path provides is stood in.
sys.meta_path.append(_StubFinder())

class LambdaContext:
    def __init__(self):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = "arn:aws:lambda:%s:123456789012:function:%s" % (env["AWS_REGION"], self.function_name)
        self.memory_limit_in_mb = int(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = "lamina-smoke-00000000-0000-0000-0000-000000000000"
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

module = importlib.import_module(module_name)
handler = getattr(module, name, None)
if not callable(handler):
    sys.stderr.write("the handler %s of %s is not callable\n" % (name, module_name))
    sys.exit(3)
if event_file:
    with open(event_file) as f:
        event = json.load(f)
    result = handler(event, LambdaContext())
    with open(result_file, "w") as f:
        f.write(json.dumps(result, default=str))
sys.stdout.flush()
os._exit(0)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_known_by_its_exception_not_its_stack() {
        let text = "Traceback (most recent call last):\n  File \"x\"\nKeyError: 'TABLE'\n";
        assert_eq!(PythonLoader.error_key(text), "KeyError: 'TABLE'");
    }
}
