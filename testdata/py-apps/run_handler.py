"""Invokes a Lambda Python handler locally and prints its JSON result: lamina's e2e tests run it before and after slimming.

Usage: python3 -S -B run_handler.py <function-dir> <handler-spec> <event.json> [extra sys.path entry...]

With LAMINA_E2E_OPENED=FILE it also writes FILE: every file the run opened (an audit hook on
`open`), every loaded module's file and every file mapped into the process (shared libraries the
dynamic loader opened), one absolute path a line, sorted.
"""
import importlib
import json
import os
import sys
import time


class LambdaContext:
    """The context Lambda passes: its attributes and get_remaining_time_in_millis(). The function's
    name is AWS_LAMBDA_FUNCTION_NAME when set (as on Lambda), else the folder's."""

    def __init__(self, function_dir):
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.path.basename(os.path.abspath(function_dir))
        region = os.environ.get("AWS_REGION", "eu-west-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = "e2e-request"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "2024/01/01/[$LATEST]e2e"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def record_opened(into):
    """Collects the files this process opens from now on, and the loaded modules' files at exit."""
    opened = set()

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], str):
            opened.add(os.path.abspath(args[0]))

    sys.addaudithook(hook)

    def write():
        for module in list(sys.modules.values()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                opened.add(os.path.abspath(path))
        # Shared libraries the dynamic loader mapped (numpy.libs/libopenblas…so, needed by an
        # extension module): no audit event names them.
        try:
            with open("/proc/self/maps", encoding="utf-8") as maps:
                for line in maps:
                    fields = line.split(None, 5)
                    if len(fields) == 6 and fields[5].startswith("/"):
                        opened.add(fields[5].strip())
        except OSError:
            pass
        with open(into, "w", encoding="utf-8") as handle:
            handle.write("".join(f"{path}\n" for path in sorted(opened)))

    return write


def main():
    function_dir, spec, event_file, *extra = sys.argv[1:]
    into = os.environ.get("LAMINA_E2E_OPENED")
    write_opened = record_opened(os.path.abspath(into)) if into else None
    with open(event_file, encoding="utf-8") as handle:
        event = json.load(handle)
    # Lambda puts /var/task first on sys.path and runs there; the extra entries stand in for
    # the unslimmed dependencies folder.
    sys.path[:0] = [os.path.abspath(function_dir)] + [os.path.abspath(path) for path in extra]
    os.chdir(function_dir)
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    result = getattr(module, function_name)(event, LambdaContext(function_dir))
    print(json.dumps(result, indent=2, sort_keys=True))
    if write_opened:
        write_opened()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test shows what failed
        print(f"ERROR: {type(error).__name__} {error}")
        sys.exit(1)
