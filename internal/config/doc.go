// Package config owns Pier's YAML configuration: the schema that
// `pier serve --config FILE` reads, its defaults, its validation, and the
// helpers that turn configured URLs into listen addresses.
//
// A file is decoded by walking the YAML node tree by hand, so that every
// error names the file, the line and the column of the offending key or
// value, unknown keys are rejected, and nothing is silently ignored:
//
//	single.yaml:7:3: unknown key "stomps" in transports (known: openwire, stomp, mqtt, ws, amqp)
//
// Defaults. Decoding starts from the values of Default (the example
// single.yaml), and every key present in the file overrides them, with two
// exceptions: a transports section, when present, replaces the whole set of
// transports (a transport it does not name is disabled), and the journal
// directory, when empty, is derived from the data directory
// (<data_dir>/journal) by EnsureDefaults. A key with a null value (for
// example "store:" with nothing under it) is treated as absent.
//
// Paths. Relative paths (broker.data_dir, store.journal.dir) are kept as
// written and are therefore resolved relative to the working directory of the
// process, not relative to the configuration file.
//
// Sizes are written as plain bytes or with a unit: B, KB, MB, GB, TB (powers
// of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "256MiB". Durations
// are Go duration strings, e.g. "10s" or "1m30s".
package config
