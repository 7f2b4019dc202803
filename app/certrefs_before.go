//go:build nocertrefs

package app

// A build with -tags nocertrefs plays the release before certificate
// references (ADR 0025): its chains start without them and it carries no
// migration for the certificate-references upgrade, so that test/e2e's
// TestConsortiumLife can turn them on in a running consortium by
// governance, one process per node, as a consortium of that release
// would. Not for production.
const certRefsRelease = false
