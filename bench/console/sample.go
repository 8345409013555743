package main

import (
	"slices"
	"time"
)

// timings are the durations of repeated runs of one step.
type timings []time.Duration

// median is the lower middle one (0 when empty).
func (ts timings) median() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// max is the longest (0 when empty).
func (ts timings) max() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return slices.Max(ts)
}

// first is the first run's (0 when empty).
func (ts timings) first() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return ts[0]
}
