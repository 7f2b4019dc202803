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
