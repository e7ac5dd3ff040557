"""Expands AWS SAM templates offline with aws-sam-translator, as `sam deploy` would before
CloudFormation sees them, and prints {"<template>": {"<logical id>": "<type>", ...}, ...} as
JSON. lamina's tests (tests/it/stack.rs) compare lamina's resource count with this one.

Usage: python sam_transform.py TEMPLATE...   (AWS_DEFAULT_REGION must be set; no AWS call is
made: managed policies are looked up in an empty map, so templates must name them by ARN.)"""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


LOCAL_URIS = ("CodeUri", "ContentUri", "DefinitionUri")


def as_packaged(template):
    """`sam package` uploads local code folders and writes their S3 URIs into the template;
    the translator accepts only those. The count does not depend on the URI."""
    properties = [
        resource.get("Properties") or {}
        for resource in (template.get("Resources") or {}).values()
    ]
    properties += [(template.get("Globals") or {}).get("Function") or {}]
    for props in properties:
        for key in LOCAL_URIS:
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = "s3://lamina-test/" + value.strip("./") or "root"
    return template


class NoManagedPolicies:
    """The translator asks this for the ARN of a managed policy named without one; the tests'
    templates never do, so an empty map is enough and no IAM call is made."""

    def load(self):
        return {}


def main(paths):
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            template = yaml_parse(handle.read())
        expanded = transform(as_packaged(template), {}, NoManagedPolicies())
        out[path] = {
            logical_id: resource["Type"]
            for logical_id, resource in sorted(expanded.get("Resources", {}).items())
        }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
