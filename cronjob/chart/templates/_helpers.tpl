{{/*
Names. app.kubernetes.io/name stays "gatekeeper-sweeper" whatever the release is called:
the LogQL recipes and the Loki rules select the sweeper's logs by it (docs/logging.md).
*/}}
{{- define "gatekeeper-sweeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatekeeper-sweeper.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else if contains (include "gatekeeper-sweeper.name" .) .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "gatekeeper-sweeper.name" .) | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "gatekeeper-sweeper.serviceAccountName" -}}
{{- default (include "gatekeeper-sweeper.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* The labels kustomize puts on every object and pod template (cronjob/kustomization.yaml). */}}
{{- define "gatekeeper-sweeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatekeeper-sweeper.name" . }}
app.kubernetes.io/part-of: gatekeeper-sweeper
{{- end }}

{{- define "gatekeeper-sweeper.labels" -}}
{{ include "gatekeeper-sweeper.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "gatekeeper-sweeper.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The records' namespace: sweeper.recordNamespace, else the release's (the pod's own). */}}
{{- define "gatekeeper-sweeper.recordNamespace" -}}
{{- default .Release.Namespace .Values.sweeper.recordNamespace }}
{{- end }}

{{/* The Events' namespace: events.namespace, else the release's (the pod's own). */}}
{{- define "gatekeeper-sweeper.eventsNamespace" -}}
{{- default .Release.Namespace .Values.events.namespace }}
{{- end }}

{{/*
One SWEEPER_* env entry from a (name, value) list; null or "" leaves it unset, so the
sweeper's own default applies. A list is joined with spaces (click splits a multiple
option's variable on whitespace).
*/}}
{{- define "gatekeeper-sweeper.envEntry" -}}
{{- $name := index . 0 }}
{{- $value := index . 1 }}
{{- if kindIs "slice" $value }}
{{- $value = join " " $value }}
{{- end }}
{{- /* Values arrive as float64: 1000000 would print as 1e+06, which click cannot read. */}}
{{- if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{- $value = int64 $value }}
{{- end }}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}

{{/*
The container's env. The first six come in the kustomize base's order, so that with default
values the two render the same pod; SWEEPER_EVENTS comes last, where the events component
appends it. Called with (dict "root" $ "dryRun" bool): the one-shot Job has its own.
*/}}
{{- define "gatekeeper-sweeper.env" -}}
{{- $root := .root }}
{{- $s := $root.Values.sweeper }}
{{- $entries := list
  (list "SWEEPER_DRY_RUN" .dryRun)
  (list "SWEEPER_TIMEOUT" $s.timeout)
  (list "SWEEPER_MIN_AGE" $s.minAge)
  (list "SWEEPER_MAX_DELETIONS" $s.maxDeletions)
  (list "SWEEPER_MAX_DELETION_PERCENT" $s.maxDeletionPercent)
  (list "SWEEPER_LOG_LEVEL" $s.logLevel)
  (list "SWEEPER_REQUEST_TIMEOUT" $s.requestTimeout)
  (list "SWEEPER_REASONS" $s.reasons)
  (list "SWEEPER_INCLUDE_UNOWNED" $s.includeUnowned)
  (list "SWEEPER_EXCLUDE" $s.exclude)
  (list "SWEEPER_GATEKEEPER_VAP_DEFAULT" $s.gatekeeperVapDefault)
  (list "SWEEPER_GATEKEEPER_VAPB_DEFAULT" $s.gatekeeperVapbDefault)
  (list "SWEEPER_PAGE_SIZE" $s.pageSize)
  (list "SWEEPER_QPS" $s.qps)
  (list "SWEEPER_BURST" $s.burst)
  (list "SWEEPER_CONCURRENCY" $s.concurrency)
  (list "SWEEPER_READ_CONCURRENCY" $s.readConcurrency)
  (list "SWEEPER_READ_QPS" $s.readQps)
  (list "SWEEPER_READ_BURST" $s.readBurst)
  (list "SWEEPER_CLUSTER_NAME" $s.clusterName)
  (list "SWEEPER_OUTPUT" $s.output)
  (list "SWEEPER_PUSHGATEWAY_URL" $s.pushgatewayUrl)
  (list "SWEEPER_INSECURE_SKIP_TLS_VERIFY" $s.insecureSkipTlsVerify)
  (list "SWEEPER_RECORD" $s.record)
  (list "SWEEPER_RECORD_NAMESPACE" $s.recordNamespace)
  (list "SWEEPER_RECORD_RETENTION" $s.recordRetention)
  (list "SWEEPER_OBSERVE_GATEKEEPER" (ternary nil false $root.Values.gatekeeper.observe))
  (list "SWEEPER_GATEKEEPER_NAMESPACE" (ternary nil $root.Values.gatekeeper.namespace (eq $root.Values.gatekeeper.namespace "gatekeeper-system")))
  (list "SWEEPER_EVENTS_NAMESPACE" (ternary $root.Values.events.namespace nil $root.Values.events.enabled))
}}
{{- range $entries }}
{{- include "gatekeeper-sweeper.envEntry" . }}
{{- end }}
{{- if $root.Values.notify.existingSecret }}
- name: SWEEPER_NOTIFY_URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.notify.existingSecret }}
      key: {{ $root.Values.notify.secretKey }}
{{- end }}
{{- with $s.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- if $root.Values.events.enabled }}
- name: SWEEPER_EVENTS
  value: "true"
{{- end }}
{{- end }}

{{/* The pod template shared by the CronJob and the one-shot Job (cronjob/cronjob.yaml). */}}
{{- define "gatekeeper-sweeper.podTemplate" -}}
metadata:
  labels:
    {{- include "gatekeeper-sweeper.labels" .root | nindent 4 }}
    {{- with .root.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .root.Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "gatekeeper-sweeper.serviceAccountName" .root }}
  # The sweeper talks to the API server with this token (in-cluster config).
  automountServiceAccountToken: true
  enableServiceLinks: false
  restartPolicy: Never  # required by podFailurePolicy
  terminationGracePeriodSeconds: {{ .root.Values.job.terminationGracePeriodSeconds }}
  {{- with .root.Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .root.Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: sweeper
      image: {{ include "gatekeeper-sweeper.image" .root }}
      imagePullPolicy: {{ .root.Values.image.pullPolicy }}
      args: ["sweep"]
      env:
        {{- include "gatekeeper-sweeper.env" . | trim | nindent 8 }}
      {{- with .root.Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .root.Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end }}

{{/*
A duration as the sweeper reads it (30s, 5m, 1h30m, 250ms, 2d; bare seconds for
requestTimeout) in whole seconds, rounded up. The schema has already refused anything else.
*/}}
{{- define "gatekeeper-sweeper.seconds" -}}
{{- $text := toString . }}
{{- $total := 0.0 }}
{{- if regexMatch "^[0-9]+$" $text }}
{{- $total = float64 $text }}
{{- end }}
{{- $units := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 "d" 86400.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)" $text -1 }}
{{- $unit := regexFind "(ms|s|m|h|d)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $units $unit)) }}
{{- end }}
{{- ceil $total | int64 }}
{{- end }}

{{/*
The Job's activeDeadlineSeconds: it bounds every attempt together, so it is derived from
sweeper.timeout (the sweeper's own default, 5m, when null): (backoffLimit + 1) x (timeout
+ 2 minutes for the pod to be scheduled, pull its image and start, and for the request in
flight when the timeout ends the sweep). job.activeDeadlineSeconds may raise it, never lower it.
*/}}
{{- define "gatekeeper-sweeper.activeDeadlineSeconds" -}}
{{- $job := .Values.job }}
{{- $timeout := include "gatekeeper-sweeper.seconds" (default "5m" .Values.sweeper.timeout) | int64 }}
{{- $derived := mul (add $job.backoffLimit 1) (add $timeout 120) }}
{{- if kindIs "invalid" $job.activeDeadlineSeconds }}
{{- $derived }}
{{- else if lt (int64 $job.activeDeadlineSeconds) (int64 $derived) }}
{{- fail (printf "job.activeDeadlineSeconds %v is shorter than the %v seconds that (job.backoffLimit + 1) x (sweeper.timeout + 2m) needs: leave it null to derive it from sweeper.timeout" $job.activeDeadlineSeconds $derived) }}
{{- else }}
{{- int64 $job.activeDeadlineSeconds }}
{{- end }}
{{- end }}

{{/* The Job spec shared by the CronJob and the one-shot Job. */}}
{{- define "gatekeeper-sweeper.jobSpec" -}}
backoffLimit: {{ .root.Values.job.backoffLimit }}
activeDeadlineSeconds: {{ include "gatekeeper-sweeper.activeDeadlineSeconds" .root }}
ttlSecondsAfterFinished: {{ .root.Values.job.ttlSecondsAfterFinished }}
podFailurePolicy:
  rules:
    # 2 = usage or configuration error (incl. RBAC 403), 3 = a deletion guard tripped:
    # the same input gives the same answer, so fail the Job at once.
    - action: FailJob
      onExitCodes:
        containerName: sweeper
        operator: In
        values: [2, 3]
      # Empty, yet needed: the Kubernetes 1.28 schema marks it required.
      onPodConditions: []
    # A node drain or preemption is not the sweeper's failure.
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
template:
  {{- include "gatekeeper-sweeper.podTemplate" . | nindent 2 }}
{{- end }}
