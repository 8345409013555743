//go:build race

package wsserve

const raceEnabled = true
