//go:build !nocertrefs

package app

// certRefsRelease: this binary carries certificate references (ADR 0025):
// InitChain turns them on and the certificate-references upgrade's
// migration is registered. A build with -tags nocertrefs plays the release
// before them (certrefs_before.go).
const certRefsRelease = true
