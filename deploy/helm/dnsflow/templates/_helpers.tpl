{{/* Names: "<release>-dnsflow", or the release name alone when it already contains "dnsflow". */}}
{{- define "dnsflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dnsflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Leave room for the "-collector" and "-agent-metrics" suffixes within 63 characters. */}}
{{- define "dnsflow.agentName" -}}
{{- printf "%s-agent" (include "dnsflow.fullname" . | trunc 48 | trimSuffix "-") }}
{{- end }}

{{- define "dnsflow.collectorName" -}}
{{- printf "%s-collector" (include "dnsflow.fullname" . | trunc 48 | trimSuffix "-") }}
{{- end }}

{{- define "dnsflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels on every object; the selector labels are the subset that never changes. */}}
{{- define "dnsflow.labels" -}}
helm.sh/chart: {{ include "dnsflow.chart" . }}
{{ include "dnsflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dnsflow
{{- end }}

{{- define "dnsflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dnsflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dnsflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dnsflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dnsflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "dnsflow.tokenSecretName" -}}
{{- default (printf "%s-token" (include "dnsflow.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{- define "dnsflow.metricsPort" -}}
{{- $spec := .Values.flowCollector.spec | default dict }}
{{- $agent := $spec.agent | default dict }}
{{- $metrics := $agent.metrics | default dict }}
{{- $metrics.port | default 9401 }}
{{- end }}

{{/*
The agent config: values.flowCollector, with the default exporter (HTTP to this release's collector) when the
list is empty. The short Service name resolves on the first try: ClusterFirstWithHostNet gives the agent the
namespace's search path, so no NXDomain lookups of our own show up in the flows.
*/}}
{{- define "dnsflow.agentConfig" -}}
{{- $config := deepCopy .Values.flowCollector }}
{{- $spec := $config.spec }}
{{- if not $spec.exporters }}
{{- if not .Values.collector.enabled }}
{{- fail "flowCollector.spec.exporters is empty and collector.enabled is false: the agents would have nowhere to send flows" }}
{{- end }}
{{- $url := printf "http://%s:%d/api/v1/flows" (include "dnsflow.collectorName" .) (int .Values.collector.service.httpPort) }}
{{- $_ := set $spec "exporters" (list (dict "type" "HTTP" "http" (dict "url" $url))) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* DNSFLOW_TOKEN from the Secret, for both parts. */}}
{{- define "dnsflow.tokenEnv" -}}
{{- if .Values.auth.enabled }}
- name: DNSFLOW_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "dnsflow.tokenSecretName" . }}
      key: token
{{- end }}
{{- end }}
