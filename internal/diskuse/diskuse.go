package diskuse

import (
	"errors"
	"io/fs"
	"path/filepath"
)

// Of is the disk space the files under dir occupy: their allocated blocks
// where the system reports them (so Badger's sparse, preallocated value
// logs count for what they hold), their size elsewhere. A file removed
// while the directory is walked (a table a compaction replaced) counts
// for nothing.
func Of(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		n += occupied(info)
		return nil
	})
	return n, err
}
