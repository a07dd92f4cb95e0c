#!/usr/bin/env bash
# Checks the Helm chart without a cluster or a helm binary: helm lint --strict, helm template with several value
# sets, kubernetes-validate --strict of every manifest for Kubernetes 1.29 and 1.33, the agent's privileges, and
# values the schema must refuse. Ends with "N passed, M failed"; exits non-zero on any failure.
#
# Packages (pinned, in a venv under .build-helm/, which git ignores; reused on the next run):
#   helm-python-sdk     Helm's Go SDK (v4.2.3) as a C library with Python bindings. It ships no helm executable,
#                       and no PyPI package ships one for Linux, so helm_sdk.py provides the two commands used.
#   kubernetes-validate the Kubernetes OpenAPI schemas, 1.29 and 1.33 among them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${DNSFLOW_HELM_VENV:-$repo/.build-helm/venv}"
packages=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0)

if ! "$venv/bin/python" -c 'import helm_python, kubernetes_validate' 2>/dev/null; then
    # Debian's python3 has no venv module until python3-venv is installed.
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${packages[@]}"
fi

exec "$venv/bin/python" "$here/test_chart.py"
