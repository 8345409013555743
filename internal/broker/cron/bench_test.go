package cron

import (
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("*/10 0-4,8-12 * 3-12/3 1-5"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	ber := zone(b, "Europe/Berlin")
	for _, bc := range []struct {
		name, expr string
		from       time.Time
	}{
		{"every5min", "*/5 * * * *", time.Date(2024, 3, 1, 12, 0, 0, 0, ber)},
		{"weekdays", "30 9 * * 1-5", time.Date(2024, 3, 1, 12, 0, 0, 0, ber)},
		{"dst_gap_skips_a_year", "30 2 31 3 *", time.Date(2024, 3, 1, 12, 0, 0, 0, ber)},
		{"29feb_across_2100", "0 0 29 2 *", time.Date(2096, 3, 1, 0, 0, 0, 0, ber)}, // 8 years
		{"never", "0 0 31 2 *", time.Date(2024, 3, 1, 12, 0, 0, 0, ber)},
	} {
		s, err := Parse(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Next(bc.from)
			}
		})
	}
}
