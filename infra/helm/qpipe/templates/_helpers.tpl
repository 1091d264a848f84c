{{/* The image every stage runs: registry/repository@digest, or :tag (the chart's appVersion by default). */}}
{{- define "qpipe.image" -}}
{{- $registry := .Values.image.registry -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if $registry }}{{ $registry }}/{{ end }}{{ .Values.image.repository }}
{{- with .Values.image.digest }}@{{ . }}{{ else }}:{{ $tag }}{{ end }}
{{- end }}

{{/* imagePullPolicy, only when set (Knative resolves tags to digests either way). */}}
{{- define "qpipe.imagePullPolicy" -}}
{{- with .Values.image.pullPolicy }}imagePullPolicy: {{ . }}{{ end }}
{{- end }}

{{/* A stage's extra pod annotations: the global ones, the stage's, and Vault Agent's when on. */}}
{{- define "qpipe.podAnnotations" -}}
{{- $root := .root -}}
{{- $stage := index $root.Values.stages .stage -}}
{{- $annotations := merge (deepCopy ($stage.podAnnotations | default dict)) ($root.Values.podAnnotations | default dict) -}}
{{- if and $root.Values.credentials.vault.enabled (has .stage (list "execute" "notify")) -}}
{{- $_ := set $annotations "vault.hashicorp.com/agent-inject" "true" -}}
{{- $_ := set $annotations "vault.hashicorp.com/role" $root.Values.credentials.vault.role -}}
{{- $_ := set $annotations "vault.hashicorp.com/agent-inject-secret-credentials" $root.Values.credentials.vault.secretPath -}}
{{- $_ := set $annotations "vault.hashicorp.com/agent-inject-template-credentials" $root.Values.credentials.vault.template -}}
{{- end -}}
{{- if $annotations }}{{ toYaml $annotations }}{{ end }}
{{- end }}

{{/*
A stage's scheduling: pull secrets, nodeSelector, tolerations, affinity, topology spread (the
stage's own, else the global ones). Knative Serving accepts the last four only with its
kubernetes.podspec-* feature flags enabled (chart README, "Scheduling").
*/}}
{{- define "qpipe.podScheduling" -}}
{{- $root := .root -}}
{{- $stage := index $root.Values.stages .stage -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with ($stage.nodeSelector | default $root.Values.scheduling.nodeSelector) }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with ($stage.tolerations | default $root.Values.scheduling.tolerations) }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.scheduling.affinity }}
affinity: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.scheduling.topologySpreadConstraints }}
topologySpreadConstraints: {{ toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The ServiceAccounts' annotations: IRSA's role ARN, or any other. */}}
{{- define "qpipe.serviceAccountAnnotations" -}}
{{- with .Values.serviceAccount.annotations }}annotations: {{ toYaml . | nindent 2 }}{{ end }}
{{- end }}

{{/* The stage's revision name, when revision.name is set (Knative: <service>-<suffix>). */}}
{{- define "qpipe.revisionName" -}}
{{- with .root.Values.revision.name }}name: qpipe-{{ $.stage }}-{{ . }}{{ end }}
{{- end }}

{{/*
The stage's traffic while a canary runs: canary.percent to the latest revision (tag canary), the
rest to the stable one (tag stable); without a canary Knative sends all to the latest.
*/}}
{{- define "qpipe.traffic" -}}
{{- $canary := .root.Values.canary -}}
{{- if $canary.enabled }}
traffic:
  - revisionName: qpipe-{{ .stage }}-{{ required "canary.stableRevision: the revision.name of the release being replaced" $canary.stableRevision }}
    percent: {{ sub 100 (int $canary.percent) }}
    tag: stable
  - latestRevision: true
    percent: {{ int $canary.percent }}
    tag: canary
{{- end }}
{{- end }}
