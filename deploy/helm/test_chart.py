#!/usr/bin/env python3
"""Checks of the dnsflow chart: lint, render, validate every manifest against the Kubernetes API schemas, and
assert what the agent and the collector need. Run through test.sh, which sets up the packages."""
from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable

import helm_python as helm
import kubernetes_validate
import yaml

import helm_sdk

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dnsflow")
RELEASE, NAMESPACE = "dnsflow", "dnsflow"
KUBE_VERSIONS = ["1.29.0", "1.33.0"]
# Custom resources: no schema in kubernetes-validate; checked by hand below.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
CAPABILITIES = {"BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE", "SYS_PTRACE"}

passed = failed = 0


def check(name: str, body: Callable[[], None]) -> None:
    global passed, failed
    try:
        body()
    except Exception as error:  # noqa: BLE001: every failure is reported the same way
        failed += 1
        detail = str(error) if isinstance(error, (AssertionError, helm.HelmError)) else traceback.format_exc()
        print(f"FAIL {name}: {detail.strip()}")
    else:
        passed += 1
        print(f"ok   {name}")


def render(*sets: str, files: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    text = helm_sdk.template(RELEASE, CHART, helm_sdk.user_values(list(files), list(sets)), NAMESPACE)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(docs: list[dict[str, Any]], kind: str, suffix: str = "") -> dict[str, Any]:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    assert len(hits) == 1, f"expected one {kind} named *{suffix}, found {len(hits)}"
    return hits[0]


def validate_all(docs: list[dict[str, Any]]) -> None:
    """kubernetes-validate --strict for every object and every version; unknown fields are errors."""
    problems = []
    for version in KUBE_VERSIONS:
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) in CRD_KINDS:
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{version} {doc['kind']}/{doc['metadata']['name']}: {error.message} at "
                                f"{'.'.join(str(p) for p in error.path)}")
    assert not problems, "\n".join(problems)


def expect_render_failure(fragment: str, *sets: str, files: tuple[str, ...] = ()) -> Callable[[], None]:
    def body() -> None:
        try:
            render(*sets, files=files)
        except helm.HelmError as error:
            assert fragment in str(error), f"failed, but without '{fragment}': {error}"
        else:
            raise AssertionError("rendered, but the values are invalid")
    return body


def agent_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "DaemonSet", "-agent")["spec"]["template"]["spec"]["containers"][0]


def agent_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(find(docs, "ConfigMap", "-agent")["data"]["flowcollector.yaml"])


# --- lint -------------------------------------------------------------------------------------------------------
for label, sets in [("default values", []), ("agent.privileged=false", ["agent.privileged=false"]),
                    ("serviceMonitor and no persistence", ["serviceMonitor.enabled=true",
                                                           "collector.persistence.enabled=false"])]:
    for kube in KUBE_VERSIONS:
        check(f"helm lint --strict, {label}, Kubernetes {kube}",
              lambda sets=sets, kube=kube: (lambda f: None if not f else (_ for _ in ()).throw(
                  AssertionError("\n".join(f))))(helm_sdk.lint(CHART, helm_sdk.user_values(sets=sets), True,
                                                               "v" + kube)))

# --- default render ---------------------------------------------------------------------------------------------
default = render()
check("default: every manifest valid (kubernetes-validate --strict, 1.29 and 1.33)", lambda: validate_all(default))


def default_kinds() -> None:
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in default)
    want = sorted(["ClusterRole/dnsflow-agent", "ClusterRoleBinding/dnsflow-agent",
                   "ConfigMap/dnsflow-agent", "ConfigMap/dnsflow-collector", "DaemonSet/dnsflow-agent",
                   "Deployment/dnsflow-collector", "PersistentVolumeClaim/dnsflow-collector",
                   "Secret/dnsflow-token", "Service/dnsflow-collector", "ServiceAccount/dnsflow"])
    assert kinds == want, f"objects {kinds}"


check("default: the expected objects and nothing else", default_kinds)


def default_agent_pod() -> None:
    ds = find(default, "DaemonSet", "-agent")
    assert ds["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet" and pod["hostPID"] is True
    assert {"operator": "Exists"} in pod["tolerations"], pod.get("tolerations")
    c = pod["containers"][0]
    assert c["securityContext"] == {"privileged": True}, c["securityContext"]
    assert c["args"][:2] == ["agent", "--config=/etc/dnsflow/flowcollector.yaml"], c["args"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["DNSFLOW_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "dnsflow-token", "key": "token"}
    assert c["ports"] == [{"name": "metrics", "containerPort": 9401, "protocol": "TCP"}], c["ports"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}, c[probe]
    assert c["resources"]["requests"] and c["resources"]["limits"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for path in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/etc/dnsflow", "/run/netns"):
        assert mounts[path].get("readOnly") is True, f"{path} not mounted read-only"
    assert "/sys/fs/bpf" not in mounts
    host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    assert host == {"btf": "/sys/kernel/btf", "tracing": "/sys/kernel/tracing", "cgroup": "/sys/fs/cgroup",
                    "netns": "/run/netns"}, host
    assert mounts["/run/netns"]["mountPropagation"] == "HostToContainer"


check("default: agent DaemonSet (hostNetwork, privileged, mounts, probes, NODE_NAME, token)", default_agent_pod)


def default_agent_config() -> None:
    config = agent_config(default)
    assert config["kind"] == "FlowCollector" and config["spec"]["agent"]["ebpf"]["features"] == ["DNSTracking"]
    assert config["spec"]["exporters"] == [
        {"type": "HTTP", "http": {"url": "http://dnsflow-collector:9000/api/v1/flows"}}], config["spec"]["exporters"]


check("default: agent config is values.flowCollector with HTTP to the collector Service", default_agent_config)


def default_collector() -> None:
    dep = find(default, "Deployment", "-collector")
    assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"] == {"type": "Recreate"}
    pod = dep["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    c = pod["containers"][0]
    assert c["args"][:2] == ["collector", "--config=/etc/dnsflow/collector.yaml"], c["args"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, c[probe]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == "dnsflow-collector"
    svc = find(default, "Service", "-collector")
    ports = {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]}
    assert ports == {(9000, "TCP"), (4739, "UDP"), (4739, "TCP")}, ports
    config = yaml.safe_load(find(default, "ConfigMap", "-collector")["data"]["collector.yaml"])
    assert config["db"] == "/var/lib/dnsflow/flows.sqlite" and config["ipfix"]["transport"] == ["UDP", "TCP"]
    assert len(find(default, "Secret", "-token")["data"]["token"]) > 0
    assert find(default, "PersistentVolumeClaim", "-collector")["spec"]["resources"]["requests"]["storage"] == "5Gi"


check("default: collector (Recreate, non-root, probes, PVC, Service 9000 + 4739 UDP/TCP, token)", default_collector)



def clickhouse_store() -> None:
    docs = render("collector.store=clickhouse://clickhouse:8123/dnsflow?user=dnsflow")
    config = yaml.safe_load(find(docs, "ConfigMap", "-collector")["data"]["collector.yaml"])
    assert config["store"] == "clickhouse://clickhouse:8123/dnsflow?user=dnsflow" and "db" not in config, config


check("collector.store: the ClickHouse URL as the config's store, no db", clickhouse_store)
check("collector.store: anything but clickhouse:// is refused",
      expect_render_failure("/collector/store", "collector.store=mysql://x"))

# --- capabilities instead of privileged -------------------------------------------------------------------------
capped = render("agent.privileged=false")
check("privileged=false: every manifest valid (1.29 and 1.33)", lambda: validate_all(capped))


def capped_agent() -> None:
    sc = agent_container(capped)["securityContext"]
    assert set(sc["capabilities"]["add"]) == CAPABILITIES and len(sc["capabilities"]["add"]) == len(CAPABILITIES), sc
    assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsUser"] == 0 and sc["privileged"] is False, sc
    for doc in capped:
        assert "privileged: true" not in yaml.safe_dump(doc), f"{doc['kind']} has privileged: true"


check("privileged=false: exactly BPF, PERFMON, NET_ADMIN, SYS_RESOURCE, SYS_PTRACE, drop ALL, root, no privileged: true",
      capped_agent)

# --- other switches ---------------------------------------------------------------------------------------------
monitored = render("serviceMonitor.enabled=true", "collector.persistence.enabled=false", "agent.mountBpffs=true",
                   "agent.priorityClassName=system-node-critical")
check("serviceMonitor, emptyDir, bpffs, priorityClass: every built-in manifest valid", lambda: validate_all(monitored))


def monitored_objects() -> None:
    monitors = [d for d in monitored if d["kind"] == "ServiceMonitor"]
    assert sorted(m["metadata"]["name"] for m in monitors) == ["dnsflow-agent", "dnsflow-collector"]
    collector = next(m for m in monitors if m["metadata"]["name"] == "dnsflow-collector")
    assert collector["spec"]["endpoints"][0]["authorization"]["credentials"]["name"] == "dnsflow-token"
    find(monitored, "Service", "-agent-metrics")
    assert not [d for d in monitored if d["kind"] == "PersistentVolumeClaim"]
    pod = find(monitored, "Deployment", "-collector")["spec"]["template"]["spec"]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == "data")
    agent = find(monitored, "DaemonSet", "-agent")["spec"]["template"]["spec"]
    assert agent["priorityClassName"] == "system-node-critical"
    assert any(m["mountPath"] == "/sys/fs/bpf" for m in agent["containers"][0]["volumeMounts"])


check("serviceMonitor: two ServiceMonitors (collector with the token), headless agent Service; emptyDir",
      monitored_objects)


def open_api() -> None:
    docs = render("auth.enabled=false")
    validate_all(docs)
    assert not [d for d in docs if d["kind"] == "Secret"]
    assert "DNSFLOW_TOKEN" not in str(docs)


check("auth.enabled=false: no Secret, no DNSFLOW_TOKEN, still valid", open_api)


def own_exporters() -> None:
    docs = render("flowCollector.spec.exporters[0].type=IPFIX",
                  "flowCollector.spec.exporters[0].ipfix.targetHost=ipfix.example",
                  "flowCollector.spec.exporters[0].ipfix.transport=TCP", "collector.enabled=false")
    validate_all(docs)
    assert agent_config(docs)["spec"]["exporters"] == [
        {"type": "IPFIX", "ipfix": {"targetHost": "ipfix.example", "transport": "TCP"}}]
    assert not [d for d in docs if d["kind"] in ("Deployment", "PersistentVolumeClaim")]


check("exporters given and collector off: the agent config has only them", own_exporters)

def kubernetes_access() -> None:
    role = find(default, "ClusterRole", "-agent")
    granted = {(group, resource): rule["verbs"] for rule in role["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {(g, r): ["get", "list", "watch"] for g, r in [
        ("", "pods"), ("", "services"), ("", "nodes"), ("apps", "replicasets"), ("batch", "jobs")]}, granted
    binding = find(default, "ClusterRoleBinding", "-agent")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "dnsflow-agent"}, binding["roleRef"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "dnsflow", "namespace": NAMESPACE}]
    pod = find(default, "DaemonSet", "-agent")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True, "the agent needs its token for the API"
    collector = find(default, "Deployment", "-collector")["spec"]["template"]["spec"]
    assert collector["automountServiceAccountToken"] is False
    assert agent_config(default)["spec"]["agent"]["kubernetes"] == {"enable": "auto"}


check("default: read-only ClusterRole for the agent, bound to its service account, token mounted", kubernetes_access)


def kubernetes_off() -> None:
    docs = render("agent.kubernetes.enabled=false", "flowCollector.spec.agent.kubernetes.enable=false")
    validate_all(docs)
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    pod = find(docs, "DaemonSet", "-agent")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert agent_config(docs)["spec"]["agent"]["kubernetes"]["enable"] is False


check("agent.kubernetes.enabled=false: no ClusterRole, no token; still valid", kubernetes_off)

def dns_health_and_drops() -> None:
    # Whole numbers: --set keeps a decimal as a string.
    docs = render("flowCollector.spec.agent.ebpf.features={DNSTracking,DNSHealth,PacketDrop}",
                  "flowCollector.spec.agent.ebpf.dnsHealth.tunnel.entropyBits=4",
                  "flowCollector.spec.agent.ebpf.dnsHealth.tunnel.tunnelTypeShare=1")
    validate_all(docs)
    ebpf = agent_config(docs)["spec"]["agent"]["ebpf"]
    assert ebpf["features"] == ["DNSTracking", "DNSHealth", "PacketDrop"], ebpf["features"]
    assert ebpf["dnsHealth"]["tunnel"] == {"entropyBits": 4, "tunnelTypeShare": 1}, ebpf["dnsHealth"]


check("DNSHealth and PacketDrop with the tunnel thresholds: in the agent's config", dns_health_and_drops)

# --- values the schema or the templates refuse ------------------------------------------------------------------
for label, fragment, sets in [
    ("unknown feature Bogus", "features/0", ["flowCollector.spec.agent.ebpf.features={Bogus}"]),
    ("tracepoints=fast", "tracepoints", ["flowCollector.spec.agent.ebpf.tracepoints=fast"]),
    ("entropyBits=9", "entropyBits", ["flowCollector.spec.agent.ebpf.dnsHealth.tunnel.entropyBits=9"]),
    ("exporter type Kafka", "exporters/0/type", ["flowCollector.spec.exporters[0].type=Kafka"]),
    ("IPFIX transport SCTP", "ipfix/transport", ["flowCollector.spec.exporters[0].type=IPFIX",
                                             "flowCollector.spec.exporters[0].ipfix.targetHost=h",
                                             "flowCollector.spec.exporters[0].ipfix.transport=SCTP"]),
    ("duration 5 seconds", "cacheActiveTimeout", ["flowCollector.spec.agent.ebpf.cacheActiveTimeout=5 seconds"]),
    ("unknown key agent.privilged", "privilged", ["agent.privilged=false"]),
    ("collector IPFIX transport SCTP", "transport", ["collector.ipfix.transport={SCTP}"]),
    ("no exporter and no collector", "nowhere to send", ["collector.enabled=false"]),
    ("kubernetes.enable=maybe", "kubernetes/enable", ["flowCollector.spec.agent.kubernetes.enable=maybe"]),
    ("agent.kubernetes.enabled=yes", "kubernetes/enabled", ["agent.kubernetes.enabled=yes"]),
    ("dnstap.joinWindow=soon", "joinWindow", ["flowCollector.spec.agent.dnstap.unix=/run/dnsflow/dnstap.sock",
                                              "flowCollector.spec.agent.dnstap.joinWindow=soon"]),
    ("dnstap.maxPending=0", "maxPending", ["flowCollector.spec.agent.dnstap.unix=/run/dnsflow/dnstap.sock",
                                           "flowCollector.spec.agent.dnstap.maxPending=0"]),
]:
    check(f"refused: {label}", expect_render_failure(fragment, *sets))

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
