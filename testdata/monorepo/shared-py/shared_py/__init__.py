"""The monorepo's shared helper: a stable summary of a mapping."""


def summary(mapping):
    return ", ".join(f"{key}={mapping[key]}" for key in sorted(mapping))
