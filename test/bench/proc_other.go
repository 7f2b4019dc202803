//go:build !linux

package bench

import (
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"time"
)

func setChildAttrs(*exec.Cmd) {}

func processCPU(int) (time.Duration, error) {
	return 0, errors.New("process CPU time is only read on Linux")
}

func processRSS(int) (int64, int64, int64, error) {
	return 0, 0, 0, errors.New("process memory is only read on Linux")
}

func memTotal() (int64, error) {
	return 0, errors.New("machine memory is only read on Linux")
}

// diskUsage is the size of the files under dir.
func diskUsage(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}
