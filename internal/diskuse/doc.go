// Package diskuse measures the disk space a directory's files occupy, for
// the benchmarks that report disk per transaction (test/bench, the
// stores' benchmarks).
package diskuse
