package bench

import (
	"os"
	"strings"
	"testing"
)

func TestProcKB(t *testing.T) {
	rss, peak, anon, err := processRSS(os.Getpid())
	if err != nil || rss <= 0 || peak < rss || anon <= 0 || anon > rss {
		t.Fatalf("processRSS of the test: %d, peak %d, anonymous %d, %v", rss, peak, anon, err)
	}
	if total, err := memTotal(); err != nil || total <= peak {
		t.Fatalf("memTotal %d (peak of this process %d): %v", total, peak, err)
	}
	if _, err := procKB("/proc/self/status", "VmRSS", "NoSuchKey"); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Fatalf("a missing key: %v", err)
	}
}

func TestHugePages(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never":   "always",
		"always madvise [never]":   "never",
		"always madvise never":     "",
		"[] x":                     "",
	} {
		if got := hugePagesMode(in); got != want {
			t.Errorf("hugePagesMode(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil && transparentHugePages() == "" {
		t.Error("the kernel's mode is readable but transparentHugePages found none")
	}
	if huge, err := processAnonHuge(os.Getpid()); err != nil || huge < 0 {
		t.Errorf("processAnonHuge of the test: %d, %v", huge, err)
	}
}
