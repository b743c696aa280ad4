package eventsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sparkplane/sparkplane/internal/advisor"
)

// IsS3 reports whether arg is an s3:// or s3a:// URL (s3a is Hadoop's name,
// as spark.eventLog.dir often spells it).
func IsS3(arg string) bool {
	return strings.HasPrefix(arg, "s3://") || strings.HasPrefix(arg, "s3a://")
}

// S3 resolves an s3:// or s3a:// URL into event log sources as Discover does
// a local path: an object is one log, an eventlog_v2_* prefix a rolling log,
// any other prefix a folder of logs (its non-logs skipped).
//
// Credentials and region come from the AWS SDK's standard chain
// (environment, shared config and credentials files, SSO, web identity, the
// instance or task role). AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) points
// at an S3-compatible store such as MinIO; addressing is then path-style.
func S3(ctx context.Context, rawURL string) ([]advisor.Source, []advisor.Skipped, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("%s: not an S3 URL: write s3://BUCKET/PATH (or s3a://BUCKET/PATH)", rawURL)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: loading the AWS configuration: %w", rawURL, err)
	}
	customEndpoint := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = customEndpoint
		// S3-compatible stores often send no checksums; reading a log
		// needs none, so the SDK should not warn about each object.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	fsys := &s3FS{ctx: ctx, client: client, bucket: u.Host}
	key := strings.Trim(u.Path, "/")
	sources, skipped, err := advisor.DiscoverIn(fsys, []string{key})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rawURL, stripPrefix(err, key))
	}
	prefix := u.Scheme + "://" + u.Host + "/"
	for i := range sources {
		sources[i].Path = prefix + sources[i].Path
	}
	for i := range skipped {
		skipped[i].Path = prefix + skipped[i].Path
	}
	return sources, skipped, nil
}

// stripPrefix drops the key Discover put in front of its message, since the
// caller names the whole URL.
func stripPrefix(err error, key string) error {
	msg := strings.TrimPrefix(err.Error(), key+": ")
	return errors.New(msg)
}

// s3FS is a bucket seen as a file system: keys are names, "/" separates
// folders (S3's common prefixes).
type s3FS struct {
	ctx    context.Context
	client *s3.Client
	bucket string
}

func (f *s3FS) Stat(name string) (fs.FileInfo, error) {
	if name == "" {
		return fileInfo{name: f.bucket, dir: true}, nil
	}
	head, err := f.client.HeadObject(f.ctx, &s3.HeadObjectInput{Bucket: &f.bucket, Key: &name})
	if err == nil {
		return fileInfo{name: path.Base(name), size: aws.ToInt64(head.ContentLength), mod: aws.ToTime(head.LastModified)}, nil
	}
	if !isNotFound(err) {
		return nil, f.explain("stat", name, err)
	}
	prefix := name + "/"
	list, err := f.client.ListObjectsV2(f.ctx, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: &prefix, MaxKeys: aws.Int32(1)})
	if err != nil {
		return nil, f.explain("stat", name, err)
	}
	if aws.ToInt32(list.KeyCount) == 0 {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fileInfo{name: path.Base(name), dir: true}, nil
}

func (f *s3FS) ReadDir(name string) ([]fs.DirEntry, error) {
	prefix := ""
	if name != "" {
		prefix = name + "/"
	}
	var entries []fs.DirEntry
	pages := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: &prefix, Delimiter: aws.String("/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(f.ctx)
		if err != nil {
			return nil, f.explain("readdir", name, err)
		}
		for _, p := range page.CommonPrefixes {
			base := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), prefix), "/")
			entries = append(entries, dirEntry{fileInfo{name: base, dir: true}})
		}
		for _, o := range page.Contents {
			base := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if base == "" {
				continue // a folder marker object
			}
			entries = append(entries, dirEntry{fileInfo{name: base, size: aws.ToInt64(o.Size), mod: aws.ToTime(o.LastModified)}})
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

func (f *s3FS) Open(name string) (io.ReadCloser, error) {
	out, err := f.client.GetObject(f.ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: &name})
	if err != nil {
		if isNotFound(err) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return nil, f.explain("open", name, err)
	}
	return out.Body, nil
}

// explain turns an S3 failure into what to check.
func (f *s3FS) explain(op, name string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken":
			return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("S3 refused %s on s3://%s (%s): check the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance role) and that they may read the bucket", op, f.bucket, apiErr.ErrorCode())}
		case "NoSuchBucket":
			return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("bucket %q does not exist", f.bucket)}
		}
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NotFound", "NoSuchKey", "404":
			return true
		}
	}
	return false
}
