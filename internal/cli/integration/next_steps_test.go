package integration

import (
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

// kubeconfigWith writes a kubeconfig whose context "next-steps" names server,
// trusts ca and logs in as user.
func kubeconfigWith(t *testing.T, server string, ca []byte, user *clientcmdapi.AuthInfo) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	kc.AuthInfos["u"] = user
	kc.Contexts["next-steps"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: "default"}
	kc.CurrentContext = "next-steps"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNextStepsAgainstRealServers: the failures a user meets first, each
// produced by a real server rather than a made-up error, say what is wrong,
// where the address came from (the kubeconfig file and context) and what to
// do next.
func TestNextStepsAgainstRealServers(t *testing.T) {
	// An API server without sparkplane's CRDs.
	bare, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Stop() })
	admin := func(cfgCert, cfgKey []byte) *clientcmdapi.AuthInfo {
		return &clientcmdapi.AuthInfo{ClientCertificateData: cfgCert, ClientKeyData: cfgKey}
	}
	notInstalled := kubeconfigWith(t, bare.Config.Host, bare.Config.CAData, admin(bare.Config.CertData, bare.Config.KeyData))

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	closed.Close()
	refused := kubeconfigWith(t, "https://"+refusedAddr, env.Config.CAData, admin(env.Config.CertData, env.Config.KeyData))

	// The other API server's CA does not sign this one's serving certificate.
	untrusted := kubeconfigWith(t, env.Config.Host, bare.Config.CAData, admin(env.Config.CertData, env.Config.KeyData))

	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	plainHost := strings.TrimPrefix(plain.URL, "http://")
	notTLS := kubeconfigWith(t, "https://"+plainHost, nil, admin(env.Config.CertData, env.Config.KeyData))

	unauthorized := kubeconfigWith(t, env.Config.Host, env.Config.CAData, &clientcmdapi.AuthInfo{Token: "not-a-valid-token"})

	envHost := strings.Trim(strings.TrimPrefix(env.Config.Host, "https://"), "/")
	bareHost := strings.Trim(strings.TrimPrefix(bare.Config.Host, "https://"), "/")
	cases := map[string]struct {
		kubeconfig string
		want       []string
	}{
		"CRDs missing":          {notInstalled, []string{"sparkplane is not installed on this cluster at https://" + bareHost, "run `sparkplane install`"}},
		"connection refused":    {refused, []string{"connection refused by the API server at " + refusedAddr, "is the cluster running?"}},
		"untrusted certificate": {untrusted, []string{"the API server at " + envHost + " presented a certificate this kubeconfig does not trust", "check certificate-authority-data"}},
		"not TLS":               {notTLS, []string{"the API server address " + plainHost + " does not speak TLS", "check the server URL's scheme and port"}},
		"unauthorized":          {unauthorized, []string{"rejected the credentials (Unauthorized)", "log in again"}},
	}
	commands := [][]string{
		{"list"},
		{"get", "spark-pi"},
		{"submit", "-f", "-"},
		{"wait", "spark-pi", "--for=state=Succeeded", "--timeout=5s"},
		{"delete", "-l", "team=a"},
		{"schedule", "list"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, args := range commands {
				r := sparkplane(t, tc.kubeconfig, application("spark-pi"), args...)
				if r.err == nil {
					t.Errorf("sparkplane %s succeeded, want an error", strings.Join(args, " "))
					continue
				}
				// Where the address came from: the context and the file.
				for _, want := range append(tc.want, `context "next-steps"`, tc.kubeconfig) {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("sparkplane %s: the error lacks %q:\n%s", strings.Join(args, " "), want, r.stderr)
					}
				}
			}
		})
	}
}
