{{/* Labels of every object of the given component. */}}
{{- define "sparkplane.labels" -}}
app.kubernetes.io/component: {{ . }}
app.kubernetes.io/managed-by: sparkplane
app.kubernetes.io/name: sparkplane
app.kubernetes.io/part-of: sparkplane
{{- end }}

{{/* Labels that select the pods of the given component (operator or hub). */}}
{{- define "sparkplane.selectorLabels" -}}
app.kubernetes.io/component: {{ . }}
app.kubernetes.io/name: sparkplane
{{- end }}

{{/* The component the chart runs: the hub (hub.enabled) or the operator. */}}
{{- define "sparkplane.component" -}}
{{ ternary "hub" "operator" .Values.hub.enabled }}
{{- end }}

{{/* The operator image. */}}
{{- define "sparkplane.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
