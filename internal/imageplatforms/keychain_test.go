package imageplatforms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// TestECRKeychainIsLazy: registries other than Amazon ECR never load AWS
// configuration; an ECR registry asks for it with the registry's region.
func TestECRKeychainIsLazy(t *testing.T) {
	var regions []string
	kc := &ecrKeychain{tokens: map[string]ecrToken{}, load: func(_ context.Context, region string) (aws.Config, error) {
		regions = append(regions, region)
		return aws.Config{}, errors.New("no AWS here")
	}}
	for _, image := range []string{"127.0.0.1:5000/spark:3.5.3", "ghcr.io/org/spark:1", "spark:3.5.3", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/spark:1"} {
		ref, err := name.ParseReference(image)
		if err != nil {
			t.Fatal(err)
		}
		if auth, err := kc.ResolveContext(context.Background(), ref.Context()); err != nil || auth != authn.Anonymous {
			t.Errorf("%s: %v, %v; want anonymous without AWS", image, auth, err)
		}
	}
	if len(regions) != 0 {
		t.Fatalf("AWS configuration loaded for non-ECR registries: %v", regions)
	}
	for image, region := range map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/spark:3.5.3":          "eu-west-1",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/spark:3.5.3": "us-gov-west-1",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/spark:3.5.3":      "cn-north-1",
	} {
		ref, err := name.ParseReference(image)
		if err != nil {
			t.Fatal(err)
		}
		regions = nil
		_, err = kc.ResolveContext(context.Background(), ref.Context())
		if err == nil || !strings.Contains(err.Error(), "no AWS here") || len(regions) != 1 || regions[0] != region {
			t.Errorf("%s: err %v, regions %v; want AWS loaded for %s and its error returned", image, err, regions, region)
		}
	}
}
