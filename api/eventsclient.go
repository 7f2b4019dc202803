package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/jinlian-ledger/jinlian/recon"
)

// ErrStreamEnded: the node closed the event stream (it stopped, or the
// connection broke); resume from the last cursor.
var ErrStreamEnded = errors.New("event stream ended")

// FollowEvents opens GET /v1/events as a stream from cursor (""; the next
// block) for org ("": the caller's, or every organisation's for
// regulators and auditors) on ledger ("": every sub-ledger) and calls seen with each cursor the node
// sends, a movement's (m non-nil) or a progress id past blocks with none
// (m nil), in order. It returns when ctx ends, seen fails, or the stream
// does: ErrStreamEnded, an *Error for a refusal (a bad cursor: 400, a
// pruned one: 410), or a transport error. Resume from the last cursor
// seen: nothing is skipped or repeated. hc as for Get.
func (n Node) FollowEvents(ctx context.Context, hc *http.Client, org, ledger, cursor string, seen func(cursor string, m *recon.Movement) error) error {
	base := strings.TrimSuffix(n.Addr, "/")
	switch {
	case strings.HasPrefix(base, "https://"):
		if hc == nil {
			var err error
			if hc, err = n.HTTPClient(); err != nil {
				return err
			}
		}
	case strings.HasPrefix(base, "http://"):
		if hc == nil {
			hc = &http.Client{}
		}
	default:
		return fmt.Errorf("node %s: the node's API serves the event feed: pass its address, --node https://host:port (api.listen)", n)
	}
	q := url.Values{}
	if org != "" {
		q.Set("org", org)
	}
	if ledger != "" {
		q.Set("ledger", ledger)
	}
	path := base + "/v1/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if cursor != "" {
		req.Header.Set("Last-Event-ID", cursor)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("node %s unreachable: %w", n, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			return fmt.Errorf("node %s does not serve GET /v1/events (HTTP %s): is --node the node's API (api.listen)?", n, resp.Status)
		}
		return &Error{What: "events", Status: resp.StatusCode, Message: e.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		if line != "" {
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				id = value
			case "event":
				event = value
			case "data":
				data += value
			}
			continue
		}
		switch {
		case event == "error":
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal([]byte(data), &e)
			return fmt.Errorf("node %s ended the event stream: %s", n, e.Error)
		case event == "movement":
			var m recon.Movement
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				return fmt.Errorf("node %s: event %s: %w", n, id, err)
			}
			if err := seen(id, &m); err != nil {
				return err
			}
		case event == "" && data == "" && id != "":
			if err := seen(id, nil); err != nil {
				return err
			}
		}
		id, event, data = "", "", ""
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStreamEnded, err)
	}
	return ErrStreamEnded
}
