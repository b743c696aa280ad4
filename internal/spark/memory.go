package spark

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MinMemoryOverheadMiB is Spark's floor for the memory overhead
// (ResourceProfile.MEMORY_OVERHEAD_MIN_MIB).
const MinMemoryOverheadMiB = 384

// Default overhead factors, as Spark 3.5 uses them when neither
// spark.{driver,executor}.memoryOverheadFactor nor
// spark.kubernetes.memoryOverheadFactor is set.
const (
	JVMMemoryOverheadFactor    = 0.1
	NonJVMMemoryOverheadFactor = 0.4
)

var byteUnits = map[string]int64{
	"b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50, "pb": 1 << 50,
}

// ParseMemoryMiB parses a Spark memory size the way Spark reads
// spark.driver.memory (JavaUtils.byteStringAs with MiB as the default unit):
// a whole number with an optional unit b, k, kb, m, mb, g, gb, t, tb, p or pb
// in any case; no unit means MiB; the result is rounded down to whole MiB.
func ParseMemoryMiB(s string) (int64, error) {
	lower := strings.ToLower(strings.TrimSpace(s))
	digits := strings.IndexFunc(lower, func(r rune) bool { return r < '0' || r > '9' })
	if digits == -1 {
		digits = len(lower)
	}
	number, unit := lower[:digits], lower[digits:]
	if number == "" {
		return 0, fmt.Errorf("%q is not a Spark memory size; use e.g. 4g or 4096m", s)
	}
	if strings.HasPrefix(unit, ".") {
		return 0, fmt.Errorf("%q is not a Spark memory size: fractions are not supported; use e.g. 1536m instead of 1.5g", s)
	}
	perUnit := int64(1 << 20)
	if unit != "" {
		var ok bool
		if perUnit, ok = byteUnits[unit]; !ok {
			return 0, fmt.Errorf("%q is not a Spark memory size; use e.g. 4g or 4096m", s)
		}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n > math.MaxInt64/perUnit {
		return 0, fmt.Errorf("%q is too large for a Spark memory size", s)
	}
	mib := n * perUnit >> 20
	if mib > math.MaxInt32 {
		return 0, fmt.Errorf("%q is too large: Spark takes at most %d MiB", s, math.MaxInt32)
	}
	return mib, nil
}

// ParseOverheadFactor parses a memory overhead factor such as 0.1: a
// non-negative finite decimal.
func ParseOverheadFactor(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%q is not a memory overhead factor; use a decimal such as 0.1 or 0.4", s)
	}
	return f, nil
}

// MemoryOverheadMiB computes the overhead as Spark does when it is not set
// explicitly: max(factor × memory, 384 MiB), the product truncated.
func MemoryOverheadMiB(memoryMiB int64, factor float64) int64 {
	return max(int64(factor*float64(memoryMiB)), MinMemoryOverheadMiB)
}
