#!/usr/bin/env bash
# The chart's PrometheusRule: rendered with Helm's SDK (test.sh made its venv), its groups checked with
# `promtool check rules` and its alerts tested with `promtool test rules` (rules_test.yaml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${DNSFLOW_HELM_VENV:-$repo/.build-helm/venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$venv/bin/python" "$here/helm_sdk.py" template dnsflow "$here/dnsflow" --set prometheusRule.enabled=true > "$work/all.yaml"
"$venv/bin/python" - "$work/all.yaml" "$work/rules.yaml" <<'PY'
import sys, yaml
rules = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert len(rules) == 1, f"expected one PrometheusRule, rendered {len(rules)}"
yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
cp "$here/rules_test.yaml" "$work/"
promtool check rules "$work/rules.yaml"
promtool test rules "$work/rules_test.yaml"
# Off by default: nothing rendered.
"$venv/bin/python" "$here/helm_sdk.py" template dnsflow "$here/dnsflow" | grep -q 'kind: PrometheusRule' && {
    echo "PrometheusRule rendered while prometheusRule.enabled is false" >&2
    exit 1
}
echo "PrometheusRule: check and test passed"
