package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// FormatError renders err the way kubectl does: a failure the API server
// reported reads `Error from server (NotFound): ...`; anything else
// `error: ...`.
func FormatError(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && !errors.As(err, new(*nextStepError)) {
		s := status.Status()
		reason := string(s.Reason)
		if reason == "" {
			reason = fmt.Sprintf("%d", s.Code)
		}
		// err.Error() keeps the context a command added (the file and
		// document), as kubectl does for `apply -f`.
		return fmt.Sprintf("Error from server (%s): %s", reason, err.Error())
	}
	return "error: " + err.Error()
}

// nextStepError is an error rewritten to say what went wrong in the user's
// terms and what to do about it; the original stays reachable through
// errors.Unwrap.
type nextStepError struct {
	message string
	cause   error
}

func (e *nextStepError) Error() string { return e.message }
func (e *nextStepError) Unwrap() error { return e.cause }

// withNextSteps makes every command in the tree explain the failures a user
// cannot act on as they come from client-go (a missing CRD, a refused
// connection, a certificate or credentials the server rejects), naming the
// kubeconfig file and context the server address came from.
func withNextSteps(cmd *cobra.Command, flags *genericclioptions.ConfigFlags) {
	for _, sub := range cmd.Commands() {
		withNextSteps(sub, flags)
	}
	if cmd.RunE == nil {
		return
	}
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return explainError(run(c, args), flags)
	}
}

// explainError rewrites err when it is one of the failures withNextSteps
// names; any other error is returned as is.
func explainError(err error, flags *genericclioptions.ConfigFlags) error {
	if err == nil || errors.As(err, new(*nextStepError)) {
		return err
	}
	if isMissingSparkplaneAPI(err) {
		return &nextStepError{
			message: fmt.Sprintf("sparkplane is not installed on this cluster%s (the API server does not serve %s): run `sparkplane install`", where(flags, ""), v1alpha1.GroupVersion),
			cause:   err,
		}
	}
	host := failedHost(err)
	if host != "<unknown>" && host != configuredHost(flags) {
		// A connection this command made elsewhere (a member cluster, a
		// URL given as an argument): its own message already says where.
		return err
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		dns              *net.DNSError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return &nextStepError{fmt.Sprintf("connection refused by the API server at %s%s: is the cluster running? (the local cluster starts with `sparkplane dev up`)", host, where(flags, host)), err}
	case errors.As(err, &dns):
		return &nextStepError{fmt.Sprintf("cannot resolve the API server's host %s%s: check the server address in the kubeconfig", dns.Name, where(flags, host)), err}
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verification):
		return &nextStepError{fmt.Sprintf("the API server at %s presented a certificate this kubeconfig does not trust (%v)%s: check certificate-authority-data for the cluster, or use the kubeconfig the cluster's installer wrote", host, rootCause(err), where(flags, host)), err}
	case errors.As(err, &recordHeader), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http turns the TLS record error of a plain-HTTP answer into
		// an unexported error with this message.
		return &nextStepError{fmt.Sprintf("the API server address %s does not speak TLS%s: check the server URL's scheme and port", host, where(flags, host)), err}
	case apierrors.IsUnauthorized(err):
		return &nextStepError{fmt.Sprintf("the API server%s rejected the credentials (Unauthorized): log in again or renew the token/client certificate of the context's user", where(flags, "")), err}
	}
	return err
}

// configuredHost is the host:port of the API server the flags select, "" when
// none can be worked out.
func configuredHost(flags *genericclioptions.ConfigFlags) string {
	if flags == nil {
		return ""
	}
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return ""
	}
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Host == "" {
		return strings.TrimPrefix(strings.TrimPrefix(cfg.Host, "https://"), "http://")
	}
	return u.Host
}

// isMissingSparkplaneAPI: the server does not serve sparkplane's kinds (a
// REST mapper's no-match, or the 404 a client without one gets for the
// resource). Another group's missing kind (Karpenter's, say) is not
// sparkplane missing.
func isMissingSparkplaneAPI(err error) bool {
	var noKind *meta.NoKindMatchError
	var noResource *meta.NoResourceMatchError
	switch {
	case errors.As(err, &noKind):
		return noKind.GroupKind.Group == v1alpha1.GroupVersion.Group
	case errors.As(err, &noResource):
		return noResource.PartialResource.Group == v1alpha1.GroupVersion.Group
	case meta.IsNoMatchError(err):
		return strings.Contains(err.Error(), v1alpha1.GroupVersion.Group)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsNotFound(err) {
		return false
	}
	details := status.Status().Details
	return details == nil || (details.Name == "" && (details.Group == "" || details.Group == v1alpha1.GroupVersion.Group))
}

// failedHost is the host of the request that failed, when client-go says.
func failedHost(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if u, perr := url.Parse(urlErr.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	return "<unknown>"
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// where says where the API server address came from: " (from context X in
// /path/kubeconfig)". host, when known, must match the context's server, so a
// command that connected somewhere else is not misattributed.
func where(flags *genericclioptions.ConfigFlags, host string) string {
	if flags == nil {
		return ""
	}
	loader := flags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return ""
	}
	name := raw.CurrentContext
	if c := ptrValue(flags.Context); c != "" {
		name = c
	}
	ctx, ok := raw.Contexts[name]
	if !ok {
		if len(raw.Contexts) == 0 {
			if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
				return " (from the in-cluster service account: no kubeconfig found)"
			}
			return " (no kubeconfig context found, so client-go's default address: pass --kubeconfig or set $KUBECONFIG)"
		}
		return ""
	}
	server := ""
	if cluster, ok := raw.Clusters[ctx.Cluster]; ok {
		server = cluster.Server
		if s := ptrValue(flags.APIServer); s != "" {
			server = s
		}
	}
	if host != "" && host != "<unknown>" && server != "" && !strings.Contains(server, host) {
		return ""
	}
	origin := ctx.LocationOfOrigin
	if origin == "" {
		origin = strings.Join(loader.ConfigAccess().GetLoadingPrecedence(), ":")
	}
	if host == "" && server != "" {
		return fmt.Sprintf(" at %s (context %q in %s)", server, name, origin)
	}
	return fmt.Sprintf(" (context %q in %s)", name, origin)
}

// parseSelector parses a -l label selector, naming the flag on error.
func parseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("-l/--selector %q: %w", s, err)
	}
	return sel, nil
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
