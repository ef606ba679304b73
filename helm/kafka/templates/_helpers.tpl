{{/*
Full name: the client Service and the StatefulSet (pods `kafka-0`, ...). It comes from
`global.kafka.serviceName`, the one value the other charts also use to build the broker
address, so the Service and its clients cannot drift apart. Cut at 63 characters
(the headless Service adds "-headless", which still fits because pod DNS labels are checked
separately by the API server).
*/}}
{{- define "kafka.fullname" -}}
{{- .Values.fullnameOverride | default (include "todo-common.kafkaServiceName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kafka.headlessName" -}}
{{- printf "%s-headless" (include "kafka.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
DNS name of node N under the headless Service.
*/}}
{{- define "kafka.podHost" -}}
{{- printf "%s-%d.%s.%s.svc.cluster.local" (include "kafka.fullname" .root) (int .index) (include "kafka.headlessName" .root) .root.Release.Namespace -}}
{{- end -}}

{{/*
KRaft static quorum: every node is a voter, `<node id>@<pod DNS name>:<controller port>`.
Node ids are the StatefulSet ordinals, as KAFKA_NODE_ID takes them from the pod-index label.
*/}}
{{- define "kafka.quorumVoters" -}}
{{- $voters := list -}}
{{- range $i := until (int .Values.replicaCount) -}}
{{- $voters = append $voters (printf "%d@%s:%d" $i (include "kafka.podHost" (dict "root" $ "index" $i)) (int $.Values.listeners.controllerPort)) -}}
{{- end -}}
{{- join "," $voters -}}
{{- end -}}

{{/*
Address clients inside the namespace use: the client Service.
*/}}
{{- define "kafka.bootstrapServers" -}}
{{- printf "%s:%d" (include "kafka.fullname" .) (int .Values.listeners.clientPort) -}}
{{- end -}}

{{- define "kafka.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{- define "kafka.validateValues" -}}
{{- $errors := list -}}
{{- $replicas := int .Values.replicaCount -}}
{{- if or (lt $replicas 1) (eq (mod $replicas 2) 0) -}}
{{- $errors = append $errors (printf "replicaCount must be odd (1 or 3) so the KRaft controller quorum has a majority; got %d" $replicas) -}}
{{- end -}}
{{- if and .Values.listeners.external.enabled (gt $replicas 1) -}}
{{- $errors = append $errors "listeners.external.enabled works with one node only: every broker would advertise the same port-forwarded address; turn it off and use kubectl exec for tools" -}}
{{- end -}}
{{- range $key := list "defaultReplicationFactor" "offsetsTopicReplicationFactor" "transactionStateLogReplicationFactor" -}}
{{- if gt (int (index $.Values.config $key)) $replicas -}}
{{- $errors = append $errors (printf "config.%s (%d) exceeds replicaCount (%d)" $key (int (index $.Values.config $key)) $replicas) -}}
{{- end -}}
{{- end -}}
{{- if gt (int .Values.config.minInsyncReplicas) (int .Values.config.defaultReplicationFactor) -}}
{{- $errors = append $errors "config.minInsyncReplicas must not exceed config.defaultReplicationFactor" -}}
{{- end -}}
{{- range .Values.topics.list -}}
{{- $rf := int (.replicationFactor | default $.Values.topics.defaultReplicationFactor) -}}
{{- if gt $rf $replicas -}}
{{- $errors = append $errors (printf "topic %s: replication factor %d exceeds replicaCount (%d)" .name $rf $replicas) -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n\nVALUES VALIDATION (kafka):\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
