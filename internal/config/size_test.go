package config

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", MiB, true},
		{"256MiB", 256 * MiB, true},
		{"10 GiB", 10 * GiB, true},
		{"1KB", 1000, true},
		{"1KiB", 1024, true},
		{"3B", 3, true},
		{"2TB", 2 * TB, true},
		{"8388607TiB", 8388607 * TiB, true},
		{"8388608TiB", 0, false},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"1 mib", 0, false},
		{"12 34", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSize(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
	}
}

func TestSizeStringRoundTrip(t *testing.T) {
	for _, s := range []Size{0, 1, 999, KB, 1500, KiB, 256 * MiB, 10 * GiB, 3 * TB, 5 * TiB, 1<<62 + 1} {
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("%d -> %q -> %d, %v", int64(s), s.String(), int64(back), err)
		}
	}
	if got := (256 * MiB).String(); got != "256MiB" {
		t.Errorf("String() = %q", got)
	}
}
