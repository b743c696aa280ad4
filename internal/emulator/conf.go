package emulator

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Conf is a Spark configuration: spark.properties as the driver reads it.
// Getters return an error that names the key and says what a valid value
// looks like.
type Conf map[string]string

// Get returns the value of key and whether it is set.
func (c Conf) Get(key string) (string, bool) {
	v, ok := c[key]
	return strings.TrimSpace(v), ok
}

// String returns the value of the first of keys that is set, or def.
func (c Conf) String(def string, keys ...string) string {
	for _, k := range keys {
		if v, ok := c.Get(k); ok {
			return v
		}
	}
	return def
}

// Bool parses key as Spark does ("true"/"false", any case).
func (c Conf) Bool(key string, def bool) (bool, error) {
	v, ok := c.Get(key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want true or false", key, v)
}

// Int parses key as a whole number.
func (c Conf) Int(key string, def int) (int, error) {
	v, ok := c.Get(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a whole number", key, v)
	}
	return n, nil
}

// Float parses key as a decimal number.
func (c Conf) Float(key string, def float64) (float64, error) {
	v, ok := c.Get(key)
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s=%q: want a decimal number", key, v)
	}
	return f, nil
}

var (
	byteStringPattern     = regexp.MustCompile(`^([0-9]+)([a-z]+)?$`)
	fractionStringPattern = regexp.MustCompile(`^([0-9]+\.[0-9]+)([a-z]+)?$`)
	byteUnits             = map[string]int64{
		"b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50, "pb": 1 << 50,
	}
)

// Bytes parses key as a Spark size ("512m", "4g", "1t"); a number without a
// unit is in defaultUnit bytes (Spark's byteStringAs). The result is in bytes.
func (c Conf) Bytes(key string, def string, defaultUnit int64) (int64, error) {
	v, ok := c.Get(key)
	if !ok {
		v = def
	}
	n, err := ParseByteString(v, defaultUnit)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return n, nil
}

// ParseByteString parses a Spark size string into bytes.
func ParseByteString(s string, defaultUnit int64) (int64, error) {
	lower := strings.ToLower(strings.TrimSpace(s))
	if fractionStringPattern.MatchString(lower) {
		return 0, fmt.Errorf("fractional sizes are not supported: write a whole number with a unit such as 1536m")
	}
	m := byteStringPattern.FindStringSubmatch(lower)
	if m == nil {
		return 0, fmt.Errorf("want a size such as 512m, 4g or 4096 (units b, k, m, g, t, p)")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size out of range")
	}
	unit := defaultUnit
	if m[2] != "" {
		u, ok := byteUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("unknown size unit %q: want b, k, m, g, t or p", m[2])
		}
		unit = u
	}
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size out of range")
	}
	return n * unit, nil
}

var (
	timeStringPattern = regexp.MustCompile(`^(-?[0-9]+)([a-z]+)?$`)
	timeUnits         = map[string]time.Duration{
		"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second,
		"m": time.Minute, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
	}
)

// Duration parses key as a Spark time ("100ms", "1s", "2min"); a number
// without a unit is in defaultUnit (Spark's timeStringAs).
func (c Conf) Duration(key string, def string, defaultUnit time.Duration) (time.Duration, error) {
	v, ok := c.Get(key)
	if !ok {
		v = def
	}
	m := timeStringPattern.FindStringSubmatch(strings.ToLower(v))
	if m == nil {
		return 0, fmt.Errorf("%s=%q: want a time such as 100ms, 1s, 5min or 1h", key, v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a time that is zero or more", key, v)
	}
	unit := defaultUnit
	if m[2] != "" {
		u, ok := timeUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("%s=%q: unknown time unit %q: want us, ms, s, min, h or d", key, v, m[2])
		}
		unit = u
	}
	if n > int64(math.MaxInt64/unit) {
		return 0, fmt.Errorf("%s=%q: time out of range", key, v)
	}
	return time.Duration(n) * unit, nil
}

// WithPrefix returns the entries whose key starts with prefix, with the prefix
// removed (Spark's KubernetesUtils.parsePrefixedKeyValuePairs).
func (c Conf) WithPrefix(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range c {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			out[rest] = strings.TrimSpace(v)
		}
	}
	return out
}

// Keys returns the keys in order.
func (c Conf) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
