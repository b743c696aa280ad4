package imageplatforms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Reason says why an image's platforms are unknown. The values are the
// reasons of a SparkApplication's ImagePlatformsUnknown condition and the
// reason label of the failure metric (a bounded set).
type Reason string

// Reasons.
const (
	// ReasonTimeout: the registry did not answer within the timeout.
	ReasonTimeout Reason = "RegistryTimeout"
	// ReasonUnreachable: no connection (refused, no route, DNS).
	ReasonUnreachable Reason = "RegistryUnreachable"
	// ReasonUnauthorized: the registry refused the credentials (401/403).
	ReasonUnauthorized Reason = "RegistryUnauthorized"
	// ReasonNotFound: no such repository, tag or digest.
	ReasonNotFound Reason = "ImageNotFound"
	// ReasonInvalidReference: the image is not a valid reference.
	ReasonInvalidReference Reason = "InvalidImageReference"
	// ReasonNotAnImage: the reference names something else (an artifact).
	ReasonNotAnImage Reason = "NotAnImage"
	// ReasonRegistryError: any other answer (5xx, a malformed manifest).
	ReasonRegistryError Reason = "RegistryError"
)

// Error is a failed lookup.
type Error struct {
	Image  string
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("reading the platforms of image %s from its registry: %s: %v", e.Image, e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// classify turns what go-containerregistry returned into an *Error.
func classify(image string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	out := &Error{Image: image, Reason: ReasonRegistryError, Err: err}
	var terr *transport.Error
	var nerr net.Error
	var operr *net.OpError
	var dnserr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		out.Reason = ReasonTimeout
	case errors.As(err, &terr):
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			out.Reason = ReasonUnauthorized
		case http.StatusNotFound:
			out.Reason = ReasonNotFound
		}
		for _, d := range terr.Errors {
			switch d.Code {
			case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
				out.Reason = ReasonUnauthorized
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
				out.Reason = ReasonNotFound
			}
		}
	case errors.As(err, &nerr) && nerr.Timeout():
		out.Reason = ReasonTimeout
	case errors.As(err, &operr), errors.As(err, &dnserr):
		out.Reason = ReasonUnreachable
	}
	return out
}
