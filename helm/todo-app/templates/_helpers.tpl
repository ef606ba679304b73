{{/*
The umbrella's own rules. Its shared ConfigMap and Secret carry todo-common's labels
(component `shared-config`, from Chart.yaml); they select nothing.
*/}}

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
helm.sh/chart: {{ include "todo-common.chart" . }}
{{- end -}}
