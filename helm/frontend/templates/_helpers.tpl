{{/* The frontend's own rules; names, labels and images come from todo-common. */}}

{{/*
Checksums on the pod template, so that changed configuration or secrets roll the pods.
The chart's own ConfigMap counts by its data only: its labels change with the chart's
version, which must restart nothing. The Secret belongs to the umbrella chart; its inputs arrive through `global`.
*/}}
{{- define "frontend.checksumAnnotations" -}}
checksum/config: {{ (include (print $.Template.BasePath "/configmap.yaml") . | fromYaml).data | toJson | sha256sum }}
checksum/app-secrets: {{ toJson .Values.global.appSecrets | sha256sum }}
{{- end -}}

{{/*
Cross-field checks that fail the render with one clear message (bitnami's validateValues).
*/}}
{{- define "frontend.validateValues" -}}
{{- $errors := list -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls.enabled (not .Values.ingress.tls.secretName) -}}
{{- $errors = append $errors "ingress.tls.secretName must be set when ingress.tls.enabled is true" -}}
{{- end -}}
{{- if and .Values.service.nodePort (eq .Values.service.type "ClusterIP") -}}
{{- $errors = append $errors "service.nodePort needs service.type NodePort or LoadBalancer" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (frontend):\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
