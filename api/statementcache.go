package api

import (
	"context"
	"sync"
	"time"

	"github.com/jinlian-ledger/jinlian/recon"
)

// Bounds of the statement cache: rows in all (a row is some 400 bytes in
// memory, so 250,000 rows are about 100 MB) and statements.
const (
	maxCachedStatementRows = 250_000
	maxCachedStatements    = 16
)

// statementCache keeps the statements the API built, so that one asked
// for again (the console's pages, a clerk's reload, the CSV after the
// page) costs only the heights committed since: a day that is over is
// served as it is, today's is extended (recon.Extend). Least recently used
// statements go first past either bound; one statement larger than the
// row bound alone is served and not kept.
type statementCache struct {
	mu      sync.Mutex
	entries map[recon.Request]*cachedStatement
	rows    int
	clock   uint64
}

type cachedStatement struct {
	build sync.Mutex // one build or extension of it at a time
	st    *recon.Statement
	used  uint64
}

// statement returns req's statement (req.Date set) from chain, building or
// extending the cached one.
func (c *statementCache) statement(ctx context.Context, chain recon.Chain, loc *time.Location, req recon.Request) (*recon.Statement, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[recon.Request]*cachedStatement{}
	}
	e := c.entries[req]
	if e == nil {
		e = &cachedStatement{}
		c.entries[req] = e
	}
	c.clock++
	e.used = c.clock
	c.mu.Unlock()

	e.build.Lock()
	defer e.build.Unlock()
	c.mu.Lock()
	prev := e.st
	c.mu.Unlock()
	var st *recon.Statement
	var err error
	if prev == nil {
		st, err = recon.Build(ctx, chain, loc, req)
	} else {
		st, err = recon.Extend(ctx, chain, loc, prev)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[req] != e { // evicted meanwhile
		return st, err
	}
	if err != nil {
		if e.st == nil {
			delete(c.entries, req)
		}
		return nil, err
	}
	if e.st != nil {
		c.rows -= len(e.st.Rows)
	}
	e.st = st
	c.rows += len(st.Rows)
	c.evict()
	return st, nil
}

// evict drops the least recently used statements past the bounds.
func (c *statementCache) evict() {
	for c.rows > maxCachedStatementRows || len(c.entries) > maxCachedStatements {
		var oldest recon.Request
		var o *cachedStatement
		for k, e := range c.entries { // the minimum: the order of the range does not matter
			if o == nil || e.used < o.used {
				oldest, o = k, e
			}
		}
		if o == nil {
			return
		}
		if o.st != nil {
			c.rows -= len(o.st.Rows)
		}
		delete(c.entries, oldest)
	}
}
