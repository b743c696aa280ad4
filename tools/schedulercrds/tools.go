//go:build tools

// Package schedulercrds only pins the scheduler API modules.
package schedulercrds

import (
	_ "volcano.sh/apis/pkg/apis/scheduling/v1beta1"
)
