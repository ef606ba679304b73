{{/*
Components select nothing, so they carry no selector labels of their own; their names are
fixed by the contract because the services refer to them. Names, labels and the broker
address come from todo-common.
*/}}

{{/*
scopes: the component's own list, else the chart-wide one.
*/}}
{{- define "dapr-components.scopes" -}}
scopes:
{{- range (.own | default .root.Values.scopes) }}
  - {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
Kafka pub/sub component body, rendered under two names.
*/}}
{{- define "dapr-components.pubsub" -}}
{{- $v := .root.Values.pubsub -}}
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "todo-common.labels" .root | nindent 4 }}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: brokers
      value: {{ include "todo-common.kafkaBrokers" .root | quote }}
    - name: consumerGroup
      value: {{ $v.consumerGroup | quote }}
    - name: clientID
      value: "{appID}"
    - name: initialOffset
      value: {{ $v.initialOffset | quote }}
    - name: version
      value: {{ $v.version | quote }}
    - name: authType
      value: {{ $v.authType | quote }}
    {{- if eq $v.authType "password" }}
    - name: saslUsername
      secretKeyRef:
        name: {{ $v.sasl.secretName }}
        key: {{ $v.sasl.usernameKey }}
    - name: saslPassword
      secretKeyRef:
        name: {{ $v.sasl.secretName }}
        key: {{ $v.sasl.passwordKey }}
    - name: saslMechanism
      value: {{ $v.sasl.mechanism | quote }}
    - name: disableTls
      value: {{ $v.disableTls | quote }}
    {{- else }}
    - name: disableTls
      value: "true"
    {{- end }}
    {{- with $v.extraMetadata }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{ include "dapr-components.scopes" (dict "own" $v.scopes "root" .root) }}
auth:
  secretStore: kubernetes
{{- end -}}

{{- define "dapr-components.validateValues" -}}
{{- $errors := list -}}
{{- $v := .Values.pubsub -}}
{{- if and (eq $v.authType "password") (not $v.sasl.secretName) -}}
{{- $errors = append $errors "pubsub.sasl.secretName must name the Secret with the SASL credentials when pubsub.authType is password" -}}
{{- end -}}
{{- if and $v.alias.enabled (eq $v.alias.name $v.name) -}}
{{- $errors = append $errors "pubsub.alias.name must differ from pubsub.name" -}}
{{- end -}}
{{- if not .Values.scopes -}}
{{- $errors = append $errors "scopes must list at least one app id: every component is scoped" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (dapr-components):\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
