// Package dryrun holds the platform bundle's integration test: every rendered
// object is created with server-side dry run (strict field validation) on a
// real kube-apiserver that has the upstream CRDs installed, so the API
// server's own OpenAPI and CEL checks vouch for the typed objects and mirrors
// of internal/platform. It has no non-test code.
package dryrun
