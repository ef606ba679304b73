{{/*
The one definition of each naming, labelling and image rule of the stack's charts. Every
helper takes the chart's root context (`.`) unless its comment says otherwise.
*/}}

{{/*
Chart name, cut at 63 characters: Kubernetes names and label values may not be longer.
*/}}
{{- define "todo-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the resources. Unlike most charts it does not carry the release name: the stack
contract fixes the Service names (`frontend`, `backend`, ...), and the stack runs once per
namespace. Cut at 63 characters for the same reason as above.
*/}}
{{- define "todo-common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "todo-common.name" . -}}
{{- end -}}
{{- end -}}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "todo-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The `app.kubernetes.io/component` of the chart's objects: the annotation `todo-app/component`
of its Chart.yaml. It is part of every selector, and selectors are immutable, so it belongs
to the chart, not to its values. A context with a `component` key (hook Jobs, test pods)
names another one, so the workload's selectors never match those pods.
*/}}
{{- define "todo-common.component" -}}
{{- get . "component" | default (index (.Chart.Annotations | default dict) "todo-app/component") | required (printf "Chart.yaml of %s needs the annotation todo-app/component" .Chart.Name) -}}
{{- end -}}

{{/*
Selector labels: only name, instance and component, because selectors are immutable.
*/}}
{{- define "todo-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "todo-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ include "todo-common.component" . }}
{{- end -}}

{{/*
The labels that stay the same when only the chart's version changes. A pod template carries
these and `podLabels`, never helm.sh/chart: a release that changes nothing but the chart's
version then restarts no pod.
*/}}
{{- define "todo-common.podLabels" -}}
{{ include "todo-common.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image | default dict).tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Full label set for metadata.
*/}}
{{- define "todo-common.labels" -}}
{{ include "todo-common.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image | default dict).tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "todo-common.chart" . }}
{{- end -}}

{{/*
ServiceAccount name. Takes (dict "context" . "fullname" <the chart's full name>), because
the kafka chart names its objects by another rule.
*/}}
{{- define "todo-common.serviceAccountName" -}}
{{- $values := .context.Values.serviceAccount -}}
{{- if $values.create -}}
{{- default .fullname $values.name -}}
{{- else -}}
{{- default "default" $values.name -}}
{{- end -}}
{{- end -}}

{{/*
Image reference: optional global registry, repository, then digest or tag (the chart's
appVersion by default). Takes (dict "image" <an image block of the values> "context" .).
*/}}
{{- define "todo-common.image" -}}
{{- $repo := .image.repository -}}
{{- with .context.Values.global.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .context.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
`imagePullSecrets:` of a pod: the global names, then the chart's own, without repeats.
Renders nothing when there are none.
*/}}
{{- define "todo-common.imagePullSecrets" -}}
{{- $names := concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "todo-common.appSecretName" -}}
{{- .Values.global.appSecrets.name | default "app-secrets" -}}
{{- end -}}

{{- define "todo-common.appConfigName" -}}
{{- .Values.global.appConfig.name | default "app-config" -}}
{{- end -}}

{{/*
Container `env` entries for `secretEnv` (variable name to key of the app Secret): each
workload lists only the keys it reads.
*/}}
{{- define "todo-common.secretEnv" -}}
{{- range $name, $key := .Values.secretEnv }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "todo-common.appSecretName" $ }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/*
Name of the kafka chart's client Service, from `global.kafka.serviceName`: the kafka chart
names its Service with it and every client builds the broker address from it, so the two
cannot drift apart.
*/}}
{{- define "todo-common.kafkaServiceName" -}}
{{- ((.Values.global | default dict).kafka | default dict).serviceName | default "kafka" -}}
{{- end -}}

{{/*
Broker list for clients: a managed Kafka's brokers when `global.kafka.brokers` is set, else
the kafka chart's client Service. Never a hard-coded release name.
*/}}
{{- define "todo-common.kafkaBrokers" -}}
{{- $kafka := (.Values.global | default dict).kafka | default dict -}}
{{- if $kafka.brokers -}}
{{- $kafka.brokers -}}
{{- else -}}
{{- printf "%s:%d" (include "todo-common.kafkaServiceName" .) (int ($kafka.port | default 9092)) -}}
{{- end -}}
{{- end -}}
