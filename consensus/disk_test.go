package consensus

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckDisk(t *testing.T) {
	home := t.TempDir()
	free, err := DiskFree(home)
	if err != nil || free == 0 {
		t.Fatalf("DiskFree(%s) = %d, %v", home, free, err)
	}
	if err := CheckDisk(home, 0); err != nil {
		t.Errorf("no limit: %v", err)
	}
	if err := CheckDisk(home, 1); err != nil {
		t.Errorf("1 byte of %d free: %v", free, err)
	}
	err = CheckDisk(home, free+1<<40)
	if !errors.Is(err, ErrDiskLow) || !strings.Contains(err.Error(), home) || !strings.Contains(err.Error(), "node.min_free_disk_mb") {
		t.Errorf("a limit above the free space: %v; want ErrDiskLow naming %s and the setting", err, home)
	}
	if _, err := DiskFree(filepath.Join(home, "missing", "home")); err == nil {
		t.Error("DiskFree of a missing home: no error")
	}
}
