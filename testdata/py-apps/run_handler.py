"""Invokes a Lambda Python handler locally and prints its JSON result: lamina's e2e tests run it before and after slimming.

Usage: python3 -S -B run_handler.py <function-dir> <handler-spec> <event.json> [extra sys.path entry...]
"""
import importlib
import json
import os
import sys


def main():
    function_dir, spec, event_file, *extra = sys.argv[1:]
    with open(event_file, encoding="utf-8") as handle:
        event = json.load(handle)
    # Lambda puts /var/task first on sys.path and runs there; the extra entries stand in for
    # the unslimmed dependencies folder.
    sys.path[:0] = [os.path.abspath(function_dir)] + [os.path.abspath(path) for path in extra]
    os.chdir(function_dir)
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    result = getattr(module, function_name)(event, {"function_name": os.path.basename(function_dir)})
    print(json.dumps(result, indent=2, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the test shows what failed
        print(f"ERROR: {type(error).__name__} {error}")
        sys.exit(1)
