package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/recon"
)

// The event feed's limits and pace.
const (
	// DefaultEventsLimit and MaxEventsLimit bound a JSON page.
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
	// eventsPageHeights is the most heights one read scans, so that a
	// member's feed over a long chain answers with progress.
	eventsPageHeights = 1000
	// streamBatch is the most movements an SSE stream sends per read.
	streamBatch = 500
	// eventsPoll is how often a caught-up stream looks at the block
	// store's height: a read of one integer under the store's own lock,
	// nothing consensus waits on.
	eventsPoll = 200 * time.Millisecond
	// eventsKeepAlive is the gap after which a quiet stream sends a
	// comment, so that proxies and clients see the connection alive.
	eventsKeepAlive = 15 * time.Second
	// eventsRecheck is how often a stream asks the chain again who its
	// caller is: a revoked identity stops receiving.
	eventsRecheck = 30 * time.Second
)

// eventsQuery is GET /v1/events's query string, read strictly as
// statements' is.
type eventsQuery struct {
	cursor *recon.Cursor // nil: from the next block
	org    string
	ledger string
	limit  int // 0: default; JSON only
	json   bool
}

var eventsParams = []string{"cursor", "org", "ledger", "limit", "format"}

func parseEventsQuery(r *http.Request) (eventsQuery, error) {
	var q eventsQuery
	vals, err := strictQuery(r.URL.RawQuery, eventsParams)
	if err != nil {
		return q, err
	}
	for _, k := range sortedKeys(vals) {
		v := vals[k][0]
		switch k {
		case "cursor":
			c, err := recon.ParseCursor(v)
			if err != nil {
				return q, fmt.Errorf("parameter cursor: %w", err)
			}
			q.cursor = &c
		case "org":
			q.org = v
		case "ledger":
			q.ledger = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxEventsLimit || strconv.Itoa(n) != v {
				return q, fmt.Errorf("parameter limit %q: want 1 to %d", v, MaxEventsLimit)
			}
			q.limit = n
		case "format":
			if v != "json" && v != "sse" {
				return q, fmt.Errorf("parameter format %q: want json or sse", v)
			}
			q.json = v == "json"
		}
	}
	if _, ok := vals["format"]; !ok {
		q.json = acceptsJSON(r.Header.Get("Accept"))
	}
	// An EventSource reconnecting sends the id of the last event it
	// received; it takes the place of the URL's cursor, which is where
	// the stream first began.
	if v := r.Header.Values("Last-Event-ID"); len(v) > 0 {
		if len(v) > 1 {
			return q, fmt.Errorf("header Last-Event-ID given %d times", len(v))
		}
		c, err := recon.ParseCursor(v[0])
		if err != nil {
			return q, fmt.Errorf("header Last-Event-ID: %w", err)
		}
		q.cursor = &c
	}
	if q.limit != 0 && !q.json {
		return q, errors.New("parameter limit pages the JSON form (format=json or Accept: application/json); a stream has no pages")
	}
	return q, nil
}

// acceptsJSON: the client asks for JSON rather than a stream.
func acceptsJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/event-stream":
			return false
		case "application/json":
			return true
		}
	}
	return false
}

// events serves GET /v1/events: the movements of the caller's
// organisation (regulators and auditors: every organisation's, or one
// named by org=) from a cursor on, read from the committed blocks and
// their results. As server-sent events (the default) it streams and then
// follows new blocks; each movement's id is the cursor after it, and a
// reconnecting client's Last-Event-ID resumes there. With format=json
// (or Accept: application/json) it answers one page and the next cursor.
// Refusals are logged as statements' are.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) {
		writeJSON(w, code, map[string]string{"error": err.Error()})
	}
	if s.opts.Events == nil {
		fail(http.StatusNotFound, errors.New("this node serves no event feed"))
		return
	}
	q, err := parseEventsQuery(r)
	if err != nil {
		fail(http.StatusBadRequest, fmt.Errorf("GET /v1/events: %w", err))
		return
	}
	var who caller
	if s.gated() {
		who, err = s.caller(r)
		if err == nil {
			err = who.mayReadEvents(&q)
		}
		if err != nil {
			s.opts.Logger.Warn("api: events refused", "caller", cmp.Or(who.desc, connectionInfo(r).Client), "org", q.org,
				"ledger", q.ledger, "remote", r.RemoteAddr, "err", err)
			fail(http.StatusForbidden, err)
			return
		}
	}
	if err := (recon.FeedQuery{Org: q.org, Ledger: q.ledger}).Check(); err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	if q.org != "" {
		if reg := s.opts.Registry; reg != nil {
			ok, err := reg.OrgExists(q.org)
			if err != nil {
				fail(http.StatusInternalServerError, err)
				return
			}
			if !ok {
				fail(http.StatusNotFound, fmt.Errorf("no organisation %q is registered on chain", q.org))
				return
			}
		}
	}
	from := recon.Cursor{}
	if q.cursor != nil {
		from = *q.cursor
	} else {
		_, latest, err := s.opts.Events.Stored()
		if err != nil {
			fail(http.StatusServiceUnavailable, err)
			return
		}
		from.Height = latest + 1
	}
	limit := q.limit
	if !q.json {
		limit = streamBatch
	} else if limit == 0 {
		limit = DefaultEventsLimit
	}
	read := func(c recon.Cursor) (*recon.Page, error) {
		return recon.ReadFeed(r.Context(), s.opts.Events, recon.FeedQuery{From: c, Org: q.org, Ledger: q.ledger, Limit: limit, MaxHeights: eventsPageHeights, Loc: s.opts.TimeZone})
	}
	page, err := read(from)
	var pruned *recon.PrunedCursorError
	var future *recon.FutureCursorError
	switch {
	case errors.As(err, &future):
		fail(http.StatusBadRequest, err)
		return
	case errors.As(err, &pruned):
		fail(http.StatusGone, err)
		return
	case err != nil:
		s.opts.Logger.Error("api: events", "cursor", from, "err", err)
		fail(http.StatusInternalServerError, err)
		return
	}
	if q.json {
		writeJSON(w, http.StatusOK, page)
		return
	}
	s.streamEvents(w, r, who, q, page, read)
}

// mayReadEvents: a member reads its own organisation's movements (org
// defaults to it and may name only it); regulators and auditors read
// every organisation's (no org) or one's; an auditor of a sub-ledger the
// same, on that sub-ledger (ledger=<it>).
func (c caller) mayReadEvents(q *eventsQuery) error {
	switch {
	case c.privileged, q.ledger != "" && slices.Contains(c.audits, q.ledger):
		return nil
	case q.org == "" || q.org == c.org:
		q.org = c.org
		return nil
	}
	return fmt.Errorf("%s may not read the movements of %s: a member reads only its own organisation's; regulators and auditors read any", c.desc, q.org)
}

// streamEvents writes pages as server-sent events and, caught up, waits
// for the next height. A page that moved the cursor past its last
// movement (blocks with nothing for this caller) ends with an event that
// carries only an id: an EventSource records it without dispatching, so a
// reconnect does not read those blocks again.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, who caller, q eventsQuery, page *recon.Page, read func(recon.Cursor) (*recon.Page, error)) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "this connection cannot stream"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": jinlian event feed, org %s, sub-ledger %s\nretry: 1000\n\n", cmp.Or(q.org, "(all)"), cmp.Or(q.ledger, "(all)"))
	flusher.Flush()
	ctx := r.Context()
	lastSent := ""
	lastCheck := time.Now()
	for {
		for _, m := range page.Movements {
			b, err := json.Marshal(m)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: movement\ndata: %s\n\n", m.Cursor, b); err != nil {
				return
			}
			lastSent = m.Cursor
		}
		if page.Next != lastSent {
			if _, err := fmt.Fprintf(w, "id: %s\n\n", page.Next); err != nil {
				return
			}
			lastSent = page.Next
		}
		flusher.Flush()
		lastWrite := time.Now()
		next, err := recon.ParseCursor(page.Next)
		if err != nil {
			return
		}
		// Caught up: wait for the next height.
		for len(page.Movements) < streamBatch && next.Height > page.Latest {
			select {
			case <-ctx.Done():
				return
			case <-s.stopping:
				return
			case <-time.After(eventsPoll):
			}
			_, latest, err := s.opts.Events.Stored()
			if err == nil && latest >= next.Height {
				break
			}
			if time.Since(lastWrite) >= eventsKeepAlive {
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
					return
				}
				flusher.Flush()
				lastWrite = time.Now()
			}
		}
		if s.gated() && time.Since(lastCheck) >= eventsRecheck {
			c, err := s.caller(r)
			if err == nil && !c.privileged && !(q.ledger != "" && slices.Contains(c.audits, q.ledger)) && (q.org == "" || q.org != c.org) {
				err = fmt.Errorf("%s may no longer read this feed", c.desc)
			}
			if err != nil {
				s.opts.Logger.Warn("api: events stream ended", "caller", who.desc, "err", err)
				writeSSEError(w, err)
				flusher.Flush()
				return
			}
			lastCheck = time.Now()
		}
		if page, err = read(next); err != nil {
			if ctx.Err() == nil {
				s.opts.Logger.Error("api: events", "cursor", next, "err", err)
				writeSSEError(w, err)
				flusher.Flush()
			}
			return
		}
	}
}

func writeSSEError(w http.ResponseWriter, err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
}
