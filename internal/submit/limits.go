package submit

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Limits of what a driver container can be started with. Linux's execve
// refuses any one argument longer than MAX_ARG_STRLEN (32 pages: 128 KiB),
// and arguments and environment together beyond ARG_MAX (a quarter of the
// stack limit, 2 MiB by default); the JVM refuses a class name over 65535
// bytes; an image reference is at most 255 characters of name plus a tag
// or digest. A driver given more would be created and then fail to start
// (or wait for an image that cannot exist); refusing it at submission names
// the field.
const (
	maxArgumentBytes  = 128 << 10
	maxArgumentsBytes = 1 << 20
	maxClassNameBytes = 65535
	maxImageBytes     = 1024
)

// validateLimits refuses fields the driver's container could not be started
// with.
func (b *builder) validateLimits() {
	s := b.spec
	type arg struct {
		path  *field.Path
		value string
	}
	args := []arg{{specPath.Child("mainApplicationFile"), ptr.Deref(s.MainApplicationFile, "")}, {specPath.Child("mainClass"), ptr.Deref(s.MainClass, "")}}
	for i, a := range s.Arguments {
		args = append(args, arg{specPath.Child("arguments").Index(i), a})
	}
	total := 0
	for _, a := range args {
		total += len(a.value) + 1
		if len(a.value) > maxArgumentBytes {
			b.errs = append(b.errs, field.Invalid(a.path, fmt.Sprintf("%d bytes", len(a.value)),
				fmt.Sprintf("longer than %d bytes, which Linux refuses as one argument of the driver (MAX_ARG_STRLEN); pass large input in a file (spec.deps.files or a volume)", maxArgumentBytes)))
		}
	}
	if total > maxArgumentsBytes {
		b.errs = append(b.errs, field.Invalid(specPath.Child("arguments"), fmt.Sprintf("%d bytes", total),
			fmt.Sprintf("the driver's arguments add up to more than %d bytes, which Linux refuses to start a process with; pass large input in a file (spec.deps.files or a volume)", maxArgumentsBytes)))
	}
	if n := len(ptr.Deref(s.MainClass, "")); n > maxClassNameBytes && n <= maxArgumentBytes {
		b.errs = append(b.errs, field.Invalid(specPath.Child("mainClass"), fmt.Sprintf("%d bytes", n),
			fmt.Sprintf("longer than %d bytes, which no JVM class name can be", maxClassNameBytes)))
	}
	for _, img := range []struct {
		path  *field.Path
		value *string
	}{{specPath.Child("image"), s.Image}, {specPath.Child("driver", "image"), s.Driver.Image}, {specPath.Child("executor", "image"), s.Executor.Image}} {
		if n := len(ptr.Deref(img.value, "")); n > maxImageBytes {
			b.errs = append(b.errs, field.Invalid(img.path, fmt.Sprintf("%d bytes", n),
				fmt.Sprintf("longer than %d bytes, more than any image reference can be (a name of at most 255 characters and a tag or digest)", maxImageBytes)))
		}
	}
}
