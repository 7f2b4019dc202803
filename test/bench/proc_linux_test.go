package bench

import (
	"os"
	"strings"
	"testing"
)

func TestProcKB(t *testing.T) {
	rss, peak, err := processRSS(os.Getpid())
	if err != nil || rss <= 0 || peak < rss {
		t.Fatalf("processRSS of the test: %d, peak %d, %v", rss, peak, err)
	}
	if total, err := memTotal(); err != nil || total <= peak {
		t.Fatalf("memTotal %d (peak of this process %d): %v", total, peak, err)
	}
	if _, err := procKB("/proc/self/status", "VmRSS", "NoSuchKey"); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Fatalf("a missing key: %v", err)
	}
}
