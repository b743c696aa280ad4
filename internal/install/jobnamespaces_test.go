package install

import (
	"context"
	"strings"
	"testing"
)

// TestCheckJobNamespaces: existing job namespaces pass; missing ones are
// named, all of them, with the command that creates them.
func TestCheckJobNamespaces(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	if err := CheckJobNamespaces(ctx, env.Client, []string{ns, "default"}); err != nil {
		t.Fatalf("existing namespaces refused: %v", err)
	}
	if err := CheckJobNamespaces(ctx, env.Client, nil); err != nil {
		t.Fatalf("no job namespaces refused: %v", err)
	}
	err := CheckJobNamespaces(ctx, env.Client, []string{ns, "team-missing-a", "team-missing-b"})
	if err == nil {
		t.Fatal("missing namespaces accepted")
	}
	for _, want := range []string{"--job-namespaces", "team-missing-a, team-missing-b", "kubectl create namespace team-missing-a team-missing-b", "nothing was installed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), ns) {
		t.Errorf("error %q names the existing namespace %s", err, ns)
	}
}
