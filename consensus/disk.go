package consensus

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// ErrDiskLow is wrapped by CheckDisk's error.
var ErrDiskLow = errors.New("disk nearly full")

// FlushRoom is the free space a clean stop needs: the ledger's Badger
// writes its memtables into memory-mapped files when it closes, and a write
// to a full disk through a mapping is a SIGBUS, not an error.
const FlushRoom = 64 << 20

// DiskFree is the space an unprivileged writer may still use on the file
// system holding home's data directory (or home, before it has one).
func DiskFree(home string) (uint64, error) {
	var st syscall.Statfs_t
	dir := filepath.Join(home, "data")
	if err := syscall.Statfs(dir, &st); err != nil {
		dir = home
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, fmt.Errorf("free space of %s: %w", dir, err)
		}
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// CheckDisk is nil while home's file system has at least minFree bytes
// free (0: no limit), else an ErrDiskLow naming the disk and the fix.
func CheckDisk(home string, minFree uint64) error {
	if minFree == 0 {
		return nil
	}
	free, err := DiskFree(home)
	if err != nil {
		return err
	}
	if free < minFree {
		return fmt.Errorf("%w: the disk of %s has %d MB free, less than node.min_free_disk_mb (%d MB): free space (or grow the file system) and start the node again; nothing committed is lost",
			ErrDiskLow, home, free>>20, minFree>>20)
	}
	return nil
}
