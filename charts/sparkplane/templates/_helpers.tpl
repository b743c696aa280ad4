{{/* Labels of every object of the given component. */}}
{{- define "sparkplane.labels" -}}
app.kubernetes.io/component: {{ . }}
app.kubernetes.io/managed-by: sparkplane
app.kubernetes.io/name: sparkplane
app.kubernetes.io/part-of: sparkplane
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "sparkplane.selectorLabels" -}}
app.kubernetes.io/component: operator
app.kubernetes.io/name: sparkplane
{{- end }}

{{/* The operator image. */}}
{{- define "sparkplane.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
