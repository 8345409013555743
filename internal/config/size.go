package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes.
type Size int64

// Size units: decimal (KB = 1000) and binary (KiB = 1024).
const (
	B   Size = 1
	KB  Size = 1000
	MB  Size = 1000 * KB
	GB  Size = 1000 * MB
	TB  Size = 1000 * GB
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

var units = []struct {
	name string
	size Size
}{
	// Binary first: String prefers them.
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB}, {"B", B},
}

// unitNames lists the accepted units for error messages.
const unitNames = "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"

// ParseSize parses a size: a whole number of bytes, optionally followed by a
// unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), with or without a space:
// "1048576", "256MiB", "10 GiB", "1KB". Sizes may not be negative.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%w: %q is not a size (want a whole number of bytes with an optional unit: %s)", ErrInvalid, s, unitNames)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: size %q is too large", ErrInvalid, s)
	}
	unit := strings.TrimSpace(t[i:])
	mult := B
	if unit != "" {
		mult = 0
		for _, u := range units {
			if u.name == unit {
				mult = u.size
				break
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("%w: size %q has unknown unit %q (known: %s)", ErrInvalid, s, unit, unitNames)
		}
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("%w: size %q is too large", ErrInvalid, s)
	}
	return Size(n) * mult, nil
}

// String renders the size with the largest unit that divides it exactly,
// binary units first: 256MiB, 10GB, 1234B. ParseSize reads it back.
func (s Size) String() string {
	if s == 0 {
		return "0B"
	}
	for _, u := range units {
		if s%u.size == 0 {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B" // negative or odd: unreachable for B
}
