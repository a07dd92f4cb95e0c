#!/usr/bin/env python3
"""`helm lint` and `helm template` for this chart, without a helm binary.

No package on the registries this project may use ships a Linux helm executable. helm-python-sdk binds Helm's
own Go SDK (v4) through a C library, so linting, schema validation and rendering here are Helm's code, not an
imitation. Only the flags the chart's tests need are implemented:

    helm_sdk.py lint CHART [--strict] [--kube-version V] [--set K=V]... [-f FILE]...
    helm_sdk.py template NAME CHART [-n NAMESPACE] [--set K=V]... [-f FILE]...

With a real helm the same commands are `helm lint ...` and `helm template ...`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

import helm_python as helm
import yaml


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's rule for -f and --set: maps merge key by key, anything else (lists included) replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def merge_set(base: Any, override: Any) -> Any:
    """Successive --set expressions write into one tree: `a[0].b=1 --set a[0].c=2` gives one list item with both
    keys. (helm's strvals pads a list it indexes past with nulls; so does this.)"""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge_set(out[key], value) if key in out else value
        return out
    if isinstance(base, list) and isinstance(override, list):
        out = list(base) + [None] * max(0, len(override) - len(base))
        for i, value in enumerate(override):
            if value is not None:
                out[i] = merge_set(out[i], value) if out[i] is not None else value
        return out
    return override


def user_values(files: list[str] | None = None, sets: list[str] | None = None) -> dict[str, Any]:
    """-f files in order, then --set expressions in order (later wins), as helm does."""
    values: dict[str, Any] = {}
    for path in files or []:
        with open(path, encoding="utf-8") as f:
            values = merge(values, yaml.safe_load(f) or {})
    for expression in sets or []:
        values = merge_set(values, helm.parse_set_string(expression))
    return values


def lint(chart: str, values: dict[str, Any], strict: bool = True, kube_version: str | None = None) -> list[str]:
    """Findings that fail the lint: errors, and warnings too with strict (as `helm lint --strict`)."""
    report = helm.lint(chart, values, strict=strict, kube_version=kube_version)
    threshold = 2 if strict else 3  # 1 info, 2 warning, 3 error
    failures = [f"[{m['path']}] {m['error']}" for m in report.get("messages", []) if m["severity"] >= threshold]
    return failures + list(report.get("errors") or [])


def template(name: str, chart: str, values: dict[str, Any], namespace: str = "default") -> str:
    """The manifests as `helm template` prints them; raises helm_python.HelmError on a schema or template error."""
    loaded = helm.Chart.load(chart)
    manifests = loaded.render(values, name=name, namespace=namespace, is_install=True)
    out = []
    for path in sorted(manifests):
        body = manifests[path].strip()
        if path.endswith("NOTES.txt") or not body:
            continue
        out.append(f"---\n# Source: {path}\n{body}\n")
    return "".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("lint", "template"):
        p = sub.add_parser(command)
        if command == "template":
            p.add_argument("name")
            p.add_argument("-n", "--namespace", default="default")
        else:
            p.add_argument("--strict", action="store_true")
            p.add_argument("--kube-version")
        p.add_argument("chart")
        p.add_argument("--set", action="append", default=[])
        p.add_argument("-f", "--values", action="append", default=[])
    args = parser.parse_args()
    values = user_values(args.values, args.set)
    try:
        if args.command == "lint":
            failures = lint(args.chart, values, args.strict, args.kube_version)
            for failure in failures:
                print(failure, file=sys.stderr)
            print(f"1 chart(s) linted, {1 if failures else 0} chart(s) failed")
            return 1 if failures else 0
        sys.stdout.write(template(args.name, args.chart, values, args.namespace))
        return 0
    except helm.HelmError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
