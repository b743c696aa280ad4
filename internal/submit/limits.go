package submit

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Linux limits on a process's arguments: execve refuses any one argument
// longer than MAX_ARG_STRLEN (32 pages: 128 KiB), and arguments and
// environment together beyond ARG_MAX (a quarter of the stack limit, 2 MiB
// by default). A driver given more would be created and then fail to start
// with "argument list too long"; refusing it at submission names the field.
const (
	maxArgumentBytes  = 128 << 10
	maxArgumentsBytes = 1 << 20
)

// validateArguments refuses spec.arguments the driver's container could not
// be started with.
func (b *builder) validateArguments() {
	total := 0
	for i, arg := range b.spec.Arguments {
		total += len(arg) + 1
		if len(arg) > maxArgumentBytes {
			b.errs = append(b.errs, field.Invalid(specPath.Child("arguments").Index(i), fmt.Sprintf("%d bytes", len(arg)),
				fmt.Sprintf("longer than %d bytes, which Linux refuses as one argument (MAX_ARG_STRLEN); pass large input in a file (spec.deps.files or a volume)", maxArgumentBytes)))
		}
	}
	if total > maxArgumentsBytes {
		b.errs = append(b.errs, field.Invalid(specPath.Child("arguments"), fmt.Sprintf("%d bytes", total),
			fmt.Sprintf("the arguments add up to more than %d bytes, which Linux refuses to start a process with; pass large input in a file (spec.deps.files or a volume)", maxArgumentsBytes)))
	}
}
