{{/*
The objects of a Dapr service chart (backend, recurring-task-service, notification-service).
Each of those charts is a Chart.yaml, its values and one-line templates that include these,
so the three share one implementation and differ only in their values.
*/}}

{{/*
The sidecar settings as YAML: `global.dapr` (set once by the umbrella for every service),
overridden key by key by the service's own `dapr`; `sidecarResources` merges down to each
quantity.
*/}}
{{- define "todo-common.daprService.sidecar" -}}
{{- $global := .Values.global.dapr | default dict -}}
{{- $own := .Values.dapr -}}
{{- $settings := dict -}}
{{- range $key := list "config" "logLevel" "enableApiLogging" -}}
{{- $_ := set $settings $key (ternary (get $own $key) (get $global $key) (hasKey $own $key)) -}}
{{- end -}}
{{- $_ := set $settings "sidecarResources" (merge (deepCopy ($own.sidecarResources | default dict)) ($global.sidecarResources | default dict)) -}}
{{- toYaml $settings -}}
{{- end -}}

{{/*
The pod's securityContext: podSecurityContext, plus the sysctl that keeps the sidecar's ports
out of the pod's ephemeral ports when `dapr.reservePorts` is on.
*/}}
{{- define "todo-common.daprService.podSecurityContext" -}}
{{- $context := deepCopy (.Values.podSecurityContext | default dict) -}}
{{- if and .Values.dapr.enabled .Values.dapr.reservePorts -}}
{{- $reserved := dict "name" "net.ipv4.ip_local_reserved_ports" "value" "3500,3501,9090,50001,50002" -}}
{{- $_ := set $context "sysctls" (append ($context.sysctls | default list) $reserved) -}}
{{- end -}}
{{- toYaml $context -}}
{{- end -}}

{{/*
Cross-field checks that fail the render with one clear message (bitnami's validateValues).
*/}}
{{- define "todo-common.daprService.validateValues" -}}
{{- $errors := list -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- if and .Values.dapr.enabled (not .Values.dapr.appId) -}}
{{- $errors = append $errors "dapr.appId must be set when dapr.enabled is true" -}}
{{- end -}}
{{- if and .Values.dapr.enabled (not .Values.serviceAccount.automount) -}}
{{- $errors = append $errors "serviceAccount.automount must stay true while dapr.enabled is true: the sidecar's Kubernetes secret store reads the API with the pod's ServiceAccount token" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (%s):\n  - %s" .Chart.Name (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}

{{- define "todo-common.daprService.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "todo-common.fullname" . }}-env
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
data:
  SERVICE_NAME: {{ include "todo-common.fullname" . | quote }}
  PORT: {{ .Values.containerPort | quote }}
  {{- range $key, $value := .Values.env }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
{{ end -}}

{{/*
Checksums on the pod template, so that changed configuration or secrets roll the pods.
The chart's own ConfigMap counts by its data only: its labels change with the chart's
version, which must restart nothing. The shared ConfigMap and Secret belong to the umbrella chart; their inputs arrive through
`global`, which every chart of the stack sees.
*/}}
{{- define "todo-common.daprService.checksumAnnotations" -}}
checksum/config: {{ (include "todo-common.daprService.configmap" . | fromYaml).data | toJson | sha256sum }}
checksum/app-config: {{ toJson (dict "config" .Values.global.appConfig "kafka" .Values.global.kafka) | sha256sum }}
checksum/app-secrets: {{ toJson .Values.global.appSecrets | sha256sum }}
{{- end -}}

{{/*
The init container that holds the pod until a Kafka broker accepts connections. The
sidecar's Kafka pub/sub fails its start, and the sidecar exits, while no broker answers: on a
fresh install, where Kafka starts beside the services, they would crash-loop until it is up.
Through the client Service a connection succeeds only once a broker passed its readiness probe.
*/}}
{{- define "todo-common.daprService.waitForKafka" -}}
- name: wait-for-kafka
  image: {{ include "todo-common.image" (dict "image" .Values.waitForKafka.image "context" .) | quote }}
  imagePullPolicy: IfNotPresent
  command:
    - sh
    - -c
    - |
      deadline=$(( $(date +%s) + TIMEOUT_SECONDS ))
      while :; do
        for broker in $(echo "$KAFKA_BROKERS" | tr ',' ' '); do
          # `-e true` ends the connection once made; busybox nc has no -z in every build.
          if nc -w 3 "${broker%:*}" "${broker##*:}" -e true; then
            echo "Kafka broker $broker accepts connections"
            exit 0
          fi
        done
        if [ "$(date +%s)" -ge "$deadline" ]; then
          echo "no Kafka broker of $KAFKA_BROKERS accepted a connection within ${TIMEOUT_SECONDS} s: check the kafka pods (kubectl get pods -l app.kubernetes.io/name=kafka)" >&2
          exit 1
        fi
        sleep 2
      done
  env:
    - name: KAFKA_BROKERS
      value: {{ include "todo-common.kafkaBrokers" . | quote }}
    - name: TIMEOUT_SECONDS
      value: {{ .Values.waitForKafka.timeoutSeconds | quote }}
  resources:
    requests:
      cpu: 10m
      memory: 16Mi
    limits:
      cpu: 100m
      memory: 32Mi
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    capabilities:
      drop:
        - ALL
{{- end -}}

{{- define "todo-common.daprService.deployment" -}}
{{- include "todo-common.daprService.validateValues" . -}}
{{- $sidecar := include "todo-common.daprService.sidecar" . | fromYaml -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "todo-common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: {{ .Values.maxSurge }}
  selector:
    matchLabels:
      {{- include "todo-common.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "todo-common.podLabels" . | nindent 8 }}
      annotations:
        {{- include "todo-common.daprService.checksumAnnotations" . | nindent 8 }}
        {{- if .Values.dapr.enabled }}
        dapr.io/enabled: "true"
        dapr.io/app-id: {{ .Values.dapr.appId | quote }}
        dapr.io/app-port: {{ .Values.containerPort | quote }}
        dapr.io/app-protocol: "http"
        {{- with $sidecar.config }}
        dapr.io/config: {{ . | quote }}
        {{- end }}
        dapr.io/log-level: {{ $sidecar.logLevel | quote }}
        dapr.io/enable-api-logging: {{ $sidecar.enableApiLogging | quote }}
        dapr.io/sidecar-cpu-request: {{ $sidecar.sidecarResources.requests.cpu | quote }}
        dapr.io/sidecar-memory-request: {{ $sidecar.sidecarResources.requests.memory | quote }}
        dapr.io/sidecar-cpu-limit: {{ $sidecar.sidecarResources.limits.cpu | quote }}
        dapr.io/sidecar-memory-limit: {{ $sidecar.sidecarResources.limits.memory | quote }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "todo-common.serviceAccountName" (dict "context" . "fullname" (include "todo-common.fullname" .)) }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
      {{- with include "todo-common.imagePullSecrets" . | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "todo-common.daprService.podSecurityContext" . | nindent 8 }}
      {{- if and .Values.dapr.enabled .Values.waitForKafka.enabled }}
      initContainers:
        {{- include "todo-common.daprService.waitForKafka" . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "todo-common.image" (dict "image" .Values.image "context" .) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "todo-common.appConfigName" . }}
                # Optional so the chart also installs on its own, without the umbrella.
                optional: true
            - configMapRef:
                name: {{ include "todo-common.fullname" . }}-env
          env:
            {{- with include "todo-common.secretEnv" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            {{- toYaml .Values.probes.startup | nindent 12 }}
          livenessProbe:
            {{- toYaml .Values.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- toYaml .Values.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          {{- if .Values.writablePaths }}
          volumeMounts:
            {{- include "todo-common.writableMounts" . | trim | nindent 12 }}
          {{- end }}
      {{- if .Values.writablePaths }}
      volumes:
        {{- include "todo-common.writableVolumes" . | trim | nindent 8 }}
      {{- end }}
      {{- with include "todo-common.podPlacement" . | trim }}
      {{- . | nindent 6 }}
      {{- end }}
{{- end -}}

{{- define "todo-common.daprService.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "todo-common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "todo-common.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{- define "todo-common.daprService.networkpolicy" -}}
{{- if .Values.networkPolicy.enabled }}
# Only pods of this namespace (the frontend, the other services and their sidecars) and the
# listed namespaces (Dapr's control plane) may connect; everything else is denied. Egress is
# left open: the database is usually a managed service outside the cluster.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "todo-common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "todo-common.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - from:
        - podSelector: {}
        {{- range .Values.networkPolicy.allowedNamespaces }}
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {{ . }}
        {{- end }}
{{- end }}
{{- end -}}

{{- define "todo-common.daprService.rbac" -}}
{{- if .Values.rbac.create }}
# Read access to the app Secret only, for Dapr's Kubernetes secret store.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "todo-common.fullname" . }}-secret-reader
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: [{{ include "todo-common.appSecretName" . | quote }}]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "todo-common.fullname" . }}-secret-reader
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "todo-common.fullname" . }}-secret-reader
subjects:
  - kind: ServiceAccount
    name: {{ include "todo-common.serviceAccountName" (dict "context" . "fullname" (include "todo-common.fullname" .)) }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end -}}

{{- define "todo-common.daprService.notes" -}}
{{ include "todo-common.fullname" . }} {{ .Chart.AppVersion }} is deployed in namespace {{ .Release.Namespace }}.

Watch the rollout:
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "todo-common.fullname" . }}

Check the health endpoint from your machine:
  kubectl -n {{ .Release.Namespace }} port-forward service/{{ include "todo-common.fullname" . }} {{ .Values.service.port }}:{{ .Values.service.port }}
  curl http://127.0.0.1:{{ .Values.service.port }}/health

Run the chart's tests:
  helm test {{ .Release.Name }} -n {{ .Release.Namespace }}

The pods read {{ keys .Values.secretEnv | sortAlpha | join ", " | default "no key" }} from the Secret
"{{ include "todo-common.appSecretName" . }}", which must exist before they can start.
{{- if .Values.dapr.enabled }}
Dapr sidecar: app-id "{{ .Values.dapr.appId }}", app-port {{ .Values.containerPort }}.
{{- end }}
{{- end -}}
