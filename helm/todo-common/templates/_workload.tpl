{{/*
Objects every application chart (frontend and the Dapr services) renders the same way.
Each takes the chart's root context.
*/}}

{{- define "todo-common.hpa" -}}
{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "todo-common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "todo-common.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- if .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetMemoryUtilizationPercentage }}
    {{- end }}
{{- end }}
{{- end -}}

{{- define "todo-common.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "todo-common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "todo-common.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{- define "todo-common.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "todo-common.serviceAccountName" (dict "context" . "fullname" (include "todo-common.fullname" .)) }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
{{- end }}
{{- end -}}

{{/*
The `helm test` pod: calls the Service on the readiness probe's path.
*/}}
{{- define "todo-common.testHealth" -}}
{{- if .Values.tests.enabled }}
{{- /* Its own component, so the pod never matches the selector of the Service it calls. */}}
{{- $test := merge (dict "component" "test") . }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "todo-common.fullname" . }}-test-health
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "todo-common.labels" $test | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: health
      image: {{ include "todo-common.image" (dict "image" .Values.tests.image "context" .) | quote }}
      # A few tries: a new pod's first packets may precede the network-policy rules that admit it.
      command:
        - sh
        - -c
        - |
          for try in 1 2 3 4 5 6; do
            wget -q -O- -T 5 "$URL" && exit 0
            sleep 2
          done
          echo "no answer from $URL after $try tries" >&2
          exit 1
      env:
        - name: URL
          value: {{ printf "http://%s:%v%s" (include "todo-common.fullname" .) .Values.service.port .Values.probes.readiness.httpGet.path | quote }}
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
        capabilities:
          drop:
            - ALL
{{- end }}
{{- end -}}

{{/*
Pod template parts after the containers, in this order: topology spread (over the chart's
own pods), node selector, affinity, tolerations.
*/}}
{{- define "todo-common.podPlacement" -}}
{{- if .Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range .Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "todo-common.selectorLabels" $ | nindent 8 }}
    # Only the pods of the same revision count, so that a rollout spreads its new pods as
    # well (counting the old ones, all new pods went to the node a drain had emptied).
    matchLabelKeys:
      - pod-template-hash
  {{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
A container's writable emptyDir mounts and the pod's volumes for them (`writablePaths`), so
the root filesystem can stay read-only. "mounts" and "volumes" are rendered separately.
*/}}
{{- define "todo-common.writableMounts" -}}
{{- range $i, $path := .Values.writablePaths }}
- name: writable-{{ $i }}
  mountPath: {{ $path }}
{{- end }}
{{- end -}}

{{- define "todo-common.writableVolumes" -}}
{{- range $i, $path := .Values.writablePaths }}
- name: writable-{{ $i }}
  emptyDir:
    sizeLimit: {{ $.Values.writableSizeLimit }}
{{- end }}
{{- end -}}
