package node

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
)

// checkpointSigner signs with whichever checkpoint key the chain registered
// for the checkpoint at hand. It keeps every key it has loaded and reads the
// key file again when it changed, so that after `jinlian checkpoint
// register --new-key` the running node signs the hand-over checkpoint with
// the old key and the following ones with the new key, without a restart.
type checkpointSigner struct {
	mu    sync.Mutex
	file  string
	pw    []byte
	keys  []*checkpoint.CheckpointKey
	mtime time.Time
}

func newCheckpointSigner(file string, pw []byte) (*checkpointSigner, error) {
	s := &checkpointSigner{file: file, pw: pw}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// load reads the key file if it changed since the last read.
func (s *checkpointSigner) load() error {
	st, err := os.Stat(s.file)
	if err != nil {
		return err
	}
	if st.ModTime().Equal(s.mtime) && len(s.keys) > 0 {
		return nil
	}
	k, err := checkpoint.LoadKey(s.file, s.pw)
	if err != nil {
		return err
	}
	s.mtime = st.ModTime()
	for _, have := range s.keys {
		if bytes.Equal(have.Public(), k.Public()) {
			return nil
		}
	}
	s.keys = append(s.keys, k)
	return nil
}

func (s *checkpointSigner) sign(registered []byte, digest [32]byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.find(registered); k != nil {
		return k.Sign(digest)
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("%w (reading %s: %v)", app.ErrNoCheckpointKey, s.file, err)
	}
	if k := s.find(registered); k != nil {
		return k.Sign(digest)
	}
	return nil, app.ErrNoCheckpointKey
}

func (s *checkpointSigner) find(registered []byte) *checkpoint.CheckpointKey {
	for _, k := range s.keys {
		if bytes.Equal(k.Public(), registered) {
			return k
		}
	}
	return nil
}
