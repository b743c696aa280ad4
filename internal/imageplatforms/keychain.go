package imageplatforms

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	k8schain "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"
)

// chain asks keychains in order and returns the first that has credentials,
// passing the context on (authn.MultiKeychain drops it).
type chain []authn.Keychain

func (c chain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return c.ResolveContext(context.Background(), target)
}

func (c chain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	for _, kc := range c {
		auth, err := authn.Resolve(ctx, kc, target)
		if err != nil {
			return nil, err
		}
		if auth != authn.Anonymous {
			return auth, nil
		}
	}
	return authn.Anonymous, nil
}

// SecretGetter reads one Secret of the application's namespace.
type SecretGetter func(ctx context.Context, name string) (*corev1.Secret, error)

// PullSecretKeychain is the credentials of an application's
// imagePullSecrets, as the kubelet would use them: read on first use (a
// cached lookup reads none), through go-containerregistry's
// pkg/authn/kubernetes, which matches registries the way the kubelet's
// credential provider does. Secrets that cannot be read are skipped, as the
// kubelet skips them; Skipped says which and why.
func PullSecretKeychain(get SecretGetter, names []string) *PullSecrets {
	return &PullSecrets{get: get, names: names}
}

// PullSecrets is the keychain PullSecretKeychain returns.
type PullSecrets struct {
	get   SecretGetter
	names []string

	once    sync.Once
	keys    authn.Keychain
	skipped []string
}

// Resolve implements authn.Keychain.
func (p *PullSecrets) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return p.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain.
func (p *PullSecrets) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	p.once.Do(func() { p.load(ctx) })
	if p.keys == nil {
		return authn.Anonymous, nil
	}
	return authn.Resolve(ctx, p.keys, target)
}

func (p *PullSecrets) load(ctx context.Context) {
	var secrets []corev1.Secret
	for _, n := range p.names {
		s, err := p.get(ctx, n)
		if err != nil {
			p.skipped = append(p.skipped, fmt.Sprintf("imagePullSecret %s: %v", n, err))
			continue
		}
		secrets = append(secrets, *s)
	}
	if len(secrets) == 0 {
		return
	}
	kc, err := k8schain.NewFromPullSecrets(ctx, secrets)
	if err != nil {
		p.skipped = append(p.skipped, fmt.Sprintf("imagePullSecrets: %v", err))
		return
	}
	p.keys = kc
}

// Skipped says which pull secrets could not be used, once a lookup has
// asked for credentials.
func (p *PullSecrets) Skipped() []string { return p.skipped }

// ecrHost matches Amazon ECR registries: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn].
var ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// ECRKeychain gives credentials for Amazon ECR registries from the
// process's own AWS identity (the SDK's default credential chain: the
// environment, web identity / IRSA, EKS Pod Identity, instance profile) by
// ecr:GetAuthorizationToken; other registries get none. Nothing of AWS is
// loaded until an ECR image is looked up, so clusters without AWS (and the
// tests) never touch it. Tokens are kept until shortly before they expire.
func ECRKeychain() authn.Keychain {
	return &ecrKeychain{tokens: map[string]ecrToken{}, load: func(ctx context.Context, region string) (aws.Config, error) {
		return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	}}
}

type ecrKeychain struct {
	load func(ctx context.Context, region string) (aws.Config, error)

	mu     sync.Mutex
	tokens map[string]ecrToken // by registry host
}

type ecrToken struct {
	auth    authn.AuthConfig
	expires time.Time
}

func (k *ecrKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

func (k *ecrKeychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	host := target.RegistryStr()
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return authn.Anonymous, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tokens[host]; ok && time.Until(t.expires) > 5*time.Minute {
		return authn.FromConfig(t.auth), nil
	}
	cfg, err := k.load(ctx, m[2])
	if err != nil {
		return nil, fmt.Errorf("loading AWS credentials for ECR registry %s: %w", host, err)
	}
	out, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("ecr:GetAuthorizationToken for %s: %w", host, err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, fmt.Errorf("ecr:GetAuthorizationToken for %s returned no token", host)
	}
	data := out.AuthorizationData[0]
	t := ecrToken{auth: authn.AuthConfig{Auth: *data.AuthorizationToken}, expires: time.Now().Add(time.Hour)}
	if data.ExpiresAt != nil {
		t.expires = *data.ExpiresAt
	}
	k.tokens[host] = t
	return authn.FromConfig(t.auth), nil
}

// DefaultKeychain is a process's own credentials: the docker config
// ($DOCKER_CONFIG or ~/.docker/config.json, with its credential helpers),
// then Amazon ECR through the AWS default credential chain.
func DefaultKeychain() authn.Keychain { return chain{authn.DefaultKeychain, ECRKeychain()} }
