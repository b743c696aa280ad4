package sparkprofile

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// ImageOptions say how resolution reads the platforms of an application's
// images from their registries.
type ImageOptions struct {
	// Lookup reads and caches platforms; nil: images are not looked up and
	// placement is the profile's alone.
	Lookup *imageplatforms.Lookup
	// ReadPullSecrets reads the application's imagePullSecrets, one Get
	// each and only when a lookup misses the cache, with the manager's API
	// reader (no Secret informer). It needs get on secrets, which the
	// operator's installed role does not hold: docs/profiles.md.
	ReadPullSecrets bool
	// Secrets is the reader of pull secrets (explain: the user's client);
	// Register sets the manager's API reader when ReadPullSecrets is set.
	Secrets client.Reader
}

// imagesInput looks up the platforms of app's driver and executor images,
// at once and each within the Lookup's timeout. A lookup that fails is
// recorded with its reason; it never fails the resolution.
func imagesInput(ctx context.Context, opts ImageOptions, app *v1alpha1.SparkApplication) []v1alpha1.ImagePlatforms {
	if opts.Lookup == nil {
		return nil
	}
	driver, executor := spark.Images(&app.Spec)
	var out []v1alpha1.ImagePlatforms
	add := func(image, role string) {
		if image == "" {
			return
		}
		for i := range out {
			if out[i].Image == image {
				out[i].Roles = append(out[i].Roles, role)
				return
			}
		}
		out = append(out, v1alpha1.ImagePlatforms{Image: image, Roles: []string{role}})
	}
	add(driver, profile.RoleDriver)
	add(executor, profile.RoleExecutor)

	var keychain *imageplatforms.PullSecrets
	authKey := ""
	if opts.Secrets != nil && len(app.Spec.ImagePullSecrets) > 0 {
		names := append([]string(nil), app.Spec.ImagePullSecrets...)
		sort.Strings(names)
		authKey = app.Namespace + "/" + strings.Join(names, ",")
		keychain = imageplatforms.PullSecretKeychain(func(ctx context.Context, name string) (*corev1.Secret, error) {
			s := &corev1.Secret{}
			return s, opts.Secrets.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, s)
		}, names)
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img := &out[i]
			var res imageplatforms.Result
			var err error
			if keychain != nil {
				res, err = opts.Lookup.Platforms(ctx, img.Image, keychain, authKey)
			} else {
				res, err = opts.Lookup.Platforms(ctx, img.Image, nil, "")
			}
			if err != nil {
				img.UnknownReason = string(imageplatforms.ReasonRegistryError)
				var e *imageplatforms.Error
				if errors.As(err, &e) {
					img.UnknownReason = string(e.Reason)
				}
				img.Message = err.Error()
				return
			}
			img.Digest, img.Platforms = res.Digest, res.PlatformStrings()
		}()
	}
	wg.Wait()
	if keychain != nil {
		if skipped := keychain.Skipped(); len(skipped) > 0 {
			for i := range out {
				if out[i].UnknownReason != "" {
					out[i].Message += " (" + strings.Join(skipped, "; ") + ")"
				}
			}
		}
	}
	return out
}
