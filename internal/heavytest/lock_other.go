//go:build !unix

package heavytest

import (
	"errors"
	"time"
)

// lock is not implemented here: heavy tests run side by side.
func lock(string, time.Duration) (func(), error) {
	return nil, errors.New("no flock on this platform")
}
