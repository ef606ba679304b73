{{/*
Chart name, cut at 63 characters: Kubernetes names and label values may not be longer.
*/}}
{{- define "notification-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the resources. Unlike most charts it does not carry the release name: the stack
contract names the Service `notification-service`, and the stack runs once per namespace. Cut at 63
characters for the same reason as above.
*/}}
{{- define "notification-service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "notification-service.name" . -}}
{{- end -}}
{{- end -}}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "notification-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels: only name, instance and component, because selectors are immutable.
*/}}
{{- define "notification-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "notification-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{/*
Full label set for metadata.
*/}}
{{- define "notification-service.labels" -}}
{{ include "notification-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo-app
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "notification-service.chart" . }}
{{- end -}}

{{- define "notification-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "notification-service.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Image reference: optional global registry, repository, then digest or tag (appVersion by default).
*/}}
{{- define "notification-service.image" -}}
{{- $repo := .Values.image.repository -}}
{{- with .Values.global.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* The helm test pod's image, under global.imageRegistry like every other image. */}}
{{- define "notification-service.testImage" -}}
{{- $repo := .Values.tests.image.repository -}}
{{- with .Values.global.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- printf "%s:%s" $repo .Values.tests.image.tag -}}
{{- end -}}

{{- define "notification-service.imagePullSecrets" -}}
{{- $names := concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "notification-service.appSecretName" -}}
{{- .Values.global.appSecrets.name | default "app-secrets" -}}
{{- end -}}

{{- define "notification-service.appConfigName" -}}
{{- .Values.global.appConfig.name | default "app-config" -}}
{{- end -}}

{{/*
Checksums on the pod template, so that changed configuration or secrets roll the pods.
The shared ConfigMap and Secret belong to the umbrella chart; their inputs arrive through
`global`, which every chart of the stack sees.
*/}}
{{- define "notification-service.checksumAnnotations" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/app-config: {{ toJson (dict "config" .Values.global.appConfig "kafka" .Values.global.kafka) | sha256sum }}
checksum/app-secrets: {{ toJson .Values.global.appSecrets | sha256sum }}
{{- end -}}

{{/*
Cross-field checks that fail the render with one clear message (bitnami's validateValues).
*/}}
{{- define "notification-service.validateValues" -}}
{{- $errors := list -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.dapr.enabled (not .Values.dapr.appId) -}}
{{- $errors = append $errors "dapr.appId must be set when dapr.enabled is true" -}}
{{- end -}}
{{- if and .Values.dapr.enabled (not .Values.serviceAccount.automount) -}}
{{- $errors = append $errors "serviceAccount.automount must stay true while dapr.enabled is true: the sidecar authenticates with the ServiceAccount token" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (notification-service):\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
