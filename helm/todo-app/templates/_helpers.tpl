{{- define "todo-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels of the umbrella's own objects (the shared ConfigMap and Secret select nothing).
*/}}
{{- define "todo-app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: shared-config
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "todo-app.chart" . }}
{{- end -}}

{{/*
Broker list for KAFKA_BROKERS: a managed Kafka's brokers, else the kafka chart's Service
(named from the same global value the kafka chart uses).
*/}}
{{- define "todo-app.kafkaBrokers" -}}
{{- $kafka := .Values.global.kafka -}}
{{- if $kafka.brokers -}}
{{- $kafka.brokers -}}
{{- else -}}
{{- printf "%s:%d" $kafka.serviceName (int $kafka.port) -}}
{{- end -}}
{{- end -}}

{{- define "todo-app.validateValues" -}}
{{- $errors := list -}}
{{- $secrets := .Values.global.appSecrets -}}
{{- if $secrets.create -}}
{{- if not $secrets.databaseUrl -}}
{{- $errors = append $errors "global.appSecrets.databaseUrl is required when global.appSecrets.create is true (pass it with --set-string)" -}}
{{- end -}}
{{- if not $secrets.betterAuthSecret -}}
{{- $errors = append $errors "global.appSecrets.betterAuthSecret is required when global.appSecrets.create is true (pass it with --set-string)" -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.kafka.enabled) (not .Values.global.kafka.brokers) -}}
{{- $errors = append $errors "kafka.enabled is false but global.kafka.brokers is empty: the services would have no broker" -}}
{{- end -}}
{{- if and .Values.kafka.enabled .Values.global.kafka.brokers -}}
{{- $errors = append $errors "global.kafka.brokers points at a managed broker while kafka.enabled is true: turn one of them off" -}}
{{- end -}}
{{- with .Values.kafka.fullnameOverride -}}
{{- if ne . $.Values.global.kafka.serviceName -}}
{{- $errors = append $errors (printf "kafka.fullnameOverride (%s) differs from global.kafka.serviceName (%s): clients would look for the wrong Service; set global.kafka.serviceName instead" . $.Values.global.kafka.serviceName) -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (todo-app):\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}

{{/*
Labels of the in-cluster validation objects.
*/}}
{{- define "todo-app.validationLabels" -}}
app.kubernetes.io/name: todo-validation
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: validation
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "todo-app.chart" . }}
{{- end -}}
