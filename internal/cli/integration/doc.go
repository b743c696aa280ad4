// Package integration runs sparkplane's user-facing commands (install,
// submit, get, list, describe, logs, delete) as a user would, through the
// cobra command tree and a kubeconfig, against a real API server
// (internal/testenv). It holds only tests and their helpers.
package integration
