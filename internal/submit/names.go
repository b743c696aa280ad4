package submit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// maxPrefixLength is the longest executor pod name prefix Spark accepts
// (spark.kubernetes.executor.podNamePrefix must leave room for "-exec-N"
// within a 63-character DNS label).
const maxPrefixLength = 47

// maxServiceNameLength: a service name is a DNS label.
const maxServiceNameLength = 63

// Names are the deterministic names of one attempt's objects. The same
// application and attempt always give the same names, so a restarted operator
// finds what it created before instead of creating it twice.
type Names struct {
	// Prefix is the resource name prefix (Spark's resourceNamePrefix), also
	// spark.kubernetes.executor.podNamePrefix: executors are <Prefix>-exec-<id>.
	Prefix string
	// DriverPod is <Prefix>-driver.
	DriverPod string
	// DriverService is <Prefix>-driver-svc, or a hashed name when that is
	// longer than a DNS label.
	DriverService string
	// ConfConfigMap holds spark.properties: <Prefix>-driver-conf-map.
	ConfConfigMap string
	// PodTemplateConfigMap holds the executor pod template:
	// <Prefix>-driver-podspec-conf-map.
	PodTemplateConfigMap string
	// AppID is spark.app.id and the spark-app-selector label: "spark-" and
	// 32 hex digits derived from the application's UID and the attempt.
	AppID string
}

// NamesFor returns the names of an attempt (1 for the first run).
func NamesFor(app *v1alpha1.SparkApplication, attempt int32) Names {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", app.Namespace, app.Name, app.UID, attempt)))
	digest := hex.EncodeToString(sum[:])
	prefix := fmt.Sprintf("%s-%d", app.Name, attempt)
	if len(prefix) > maxPrefixLength || !dnsLabel.MatchString(prefix) {
		suffix := fmt.Sprintf("-%s-%d", digest[:8], attempt)
		base := strings.Trim(invalidLabelChars.ReplaceAllString(strings.ToLower(app.Name), "-"), "-")
		if len(base) > maxPrefixLength-len(suffix) {
			base = strings.TrimRight(base[:maxPrefixLength-len(suffix)], "-")
		}
		if base == "" {
			base = "spark"
		}
		prefix = base + suffix
	}
	service := prefix + "-driver-svc"
	if len(service) > maxServiceNameLength {
		service = fmt.Sprintf("spark-%s-driver-svc", digest[:16])
	}
	return Names{
		Prefix:               prefix,
		DriverPod:            prefix + "-driver",
		DriverService:        service,
		ConfConfigMap:        prefix + "-driver-conf-map",
		PodTemplateConfigMap: prefix + "-driver-podspec-conf-map",
		AppID:                "spark-" + digest[:32],
	}
}

var (
	dnsLabel          = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	invalidLabelChars = regexp.MustCompile(`[^a-z0-9-]+`)
	repeatedDashes    = regexp.MustCompile(`-+`)
)

// AppNameLabel is the spark-app-name label value Spark derives from an
// application name: lower case, characters other than a-z, 0-9 and '-'
// replaced by '-', runs of '-' collapsed, trimmed, at most 63 characters.
func AppNameLabel(name string) string {
	s := strings.ToLower(strings.TrimSpace(name))
	s = invalidLabelChars.ReplaceAllString(s, "-")
	s = repeatedDashes.ReplaceAllString(s, "-")
	s = strings.Trim(s, "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}
