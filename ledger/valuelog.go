package ledger

import (
	"errors"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The value log's collection (ADR 0031). Values of Options.ValueThreshold
// bytes or more live in Badger's value log, which only grows: a value that
// is deleted (a pruned tree version, a dropped ledger) or overwritten stays
// in its file until the file is rewritten without it. Badger learns how
// much of each file is garbage from its compactions and rewrites a file on
// request (DB.RunValueLogGC). The store asks every valueLogGCEvery, and
// soon after a PruneTo, for as long as a file half garbage is found.
//
// The collection changes no value: it copies a file's live values to the
// end of the log and points the LSM tree at the copies. It never runs
// beside DropAll (Restore, Discard), which deletes the files it reads.

const (
	valueLogGCEvery = 10 * time.Minute
	// valueLogDiscardRatio: a file is rewritten when at least this share
	// of it is garbage (Badger's advice: a lifetime write amplification
	// of 2).
	valueLogDiscardRatio = 0.5
)

// valueLogGC is a store's collector; its zero value (an in-memory store)
// collects nothing.
type valueLogGC struct {
	kick chan struct{} // a PruneTo asks for a collection soon
	quit chan struct{}
	done chan struct{}
	// mu is held by a collection and by dropAll.
	mu sync.Mutex
}

// startValueLogGC starts the collector of an on-disk store. It runs
// whatever the threshold: files written under an earlier, lower one are
// collected too.
func (s *Store) startValueLogGC() {
	if s.opts.InMemory {
		return
	}
	s.gc.kick = make(chan struct{}, 1)
	s.gc.quit = make(chan struct{})
	s.gc.done = make(chan struct{})
	go func() {
		defer close(s.gc.done)
		t := time.NewTicker(valueLogGCEvery)
		defer t.Stop()
		for {
			select {
			case <-s.gc.quit:
				return
			case <-t.C:
			case <-s.gc.kick:
			}
			// A rewrite that fails leaves its file as it was; damage
			// it met is named by the reads and by check-data.
			_, _ = s.collectValueLog()
		}
	}()
}

// kickValueLogGC asks the collector to run soon.
func (s *Store) kickValueLogGC() {
	select {
	case s.gc.kick <- struct{}{}:
	default:
	}
}

// stopValueLogGC stops the collector and waits for a collection under
// way (Close).
func (s *Store) stopValueLogGC() {
	if s.gc.quit == nil {
		return
	}
	close(s.gc.quit)
	<-s.gc.done
}

// collectValueLog rewrites value-log files while Badger finds one whose
// garbage is at least valueLogDiscardRatio of it, and returns how many it
// rewrote and the error that stopped it, if other than "nothing to
// rewrite".
func (s *Store) collectValueLog() (int, error) {
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	for n := 0; ; n++ {
		select {
		case <-s.gc.quit:
			return n, nil
		default:
		}
		err := s.db.RunValueLogGC(valueLogDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
