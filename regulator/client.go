package regulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
)

// Client calls a regulator observer's API, signing every request.
type Client struct {
	BaseURL string
	Key     *gmcrypto.PrivateKey
	HTTP    *http.Client
}

// NewClient returns a client for base (http://host:port) signing with key.
func NewClient(base string, key *gmcrypto.PrivateKey) *Client {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{BaseURL: strings.TrimRight(base, "/"), Key: key, HTTP: &http.Client{}}
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("observer answered %d: %s", e.Status, e.Message)
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Request, error) {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != nil {
		if err := SignRequest(req, c.Key, body, time.Now()); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// Do calls the API and decodes the JSON answer into out.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("observer %s unreachable: %w (is the observer running? `jinlian localnet` starts one)", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Status asks GET /v1/status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	return &out, c.Do(ctx, http.MethodGet, "/v1/status", nil, nil, &out)
}

// Txs lists movements (GET /v1/txs).
func (c *Client) Txs(ctx context.Context, q url.Values) (*Page[Entry], error) {
	var out Page[Entry]
	return &out, c.Do(ctx, http.MethodGet, "/v1/txs", q, nil, &out)
}

// Tx reads one transaction.
func (c *Client) Tx(ctx context.Context, id string) (*Tx, error) {
	var out Tx
	return &out, c.Do(ctx, http.MethodGet, "/v1/txs/"+url.PathEscape(id), nil, nil, &out)
}

// History lists an account's key history.
func (c *Client) History(ctx context.Context, addr string, q url.Values) (*Page[HistoryEntry], error) {
	var out Page[HistoryEntry]
	return &out, c.Do(ctx, http.MethodGet, "/v1/accounts/"+url.PathEscape(addr)+"/history", q, nil, &out)
}

// Alerts lists alerts.
func (c *Client) Alerts(ctx context.Context, q url.Values) (*Page[Alert], error) {
	var out Page[Alert]
	return &out, c.Do(ctx, http.MethodGet, "/v1/alerts", q, nil, &out)
}

// Ack acknowledges an alert with a note.
func (c *Client) Ack(ctx context.Context, id, note string) (*Alert, error) {
	var out Alert
	return &out, c.Do(ctx, http.MethodPost, "/v1/alerts/"+url.PathEscape(id)+"/ack", nil, AckRequest{Note: note}, &out)
}

// Report fetches the report data of a period.
func (c *Client) Report(ctx context.Context, from, to time.Time) (*Report, error) {
	var out Report
	q := url.Values{"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	return &out, c.Do(ctx, http.MethodGet, "/v1/report", q, nil, &out)
}

// Decrypt asks the observer to open a transaction's confidential payload.
func (c *Client) Decrypt(ctx context.Context, id string) (*Decryption, error) {
	var out Decryption
	return &out, c.Do(ctx, http.MethodGet, "/v1/txs/"+url.PathEscape(id)+"/decrypt", nil, nil, &out)
}

// WhatIf asks the observer to replay its chain under another rule file
// and compare the alerts with its own (POST /v1/whatif).
func (c *Client) WhatIf(ctx context.Context, req WhatIfRequest) (*WhatIf, error) {
	var out WhatIf
	return &out, c.Do(ctx, http.MethodPost, "/v1/whatif", nil, req, &out)
}

// SQLBackfill asks the observer to reload its SQL tables from height from.
func (c *Client) SQLBackfill(ctx context.Context, from int64) (*SQLBackfill, error) {
	var out SQLBackfill
	return &out, c.Do(ctx, http.MethodPost, "/v1/sql/backfill", nil, SQLBackfillRequest{From: from}, &out)
}

// Audit lists the audit log.
func (c *Client) Audit(ctx context.Context, q url.Values) (*Page[AuditEntry], error) {
	var out Page[AuditEntry]
	return &out, c.Do(ctx, http.MethodGet, "/v1/audit", q, nil, &out)
}

// StreamEvent is one server-sent event of the alert stream.
type StreamEvent struct {
	Kind  string // alert | ack
	Alert Alert
}

// Stream follows GET /v1/alerts/stream from after seq since, calling fn
// for every event until ctx ends, fn returns an error or the stream ends.
func (c *Client) Stream(ctx context.Context, since uint64, fn func(StreamEvent) error) error {
	q := url.Values{}
	if since > 0 {
		q.Set("since", fmt.Sprint(since))
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/alerts/stream", q, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("observer %s unreachable: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		var e apiError
		if json.Unmarshal(b, &e) != nil {
			e.Error = string(b)
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var kind, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if kind == "revoked" {
				var e apiError
				if json.Unmarshal([]byte(data), &e) != nil {
					e.Error = data
				}
				return &APIError{Status: http.StatusForbidden, Message: e.Error}
			}
			if data != "" {
				var a Alert
				if err := json.Unmarshal([]byte(data), &a); err != nil {
					return fmt.Errorf("stream event: %w", err)
				}
				if err := fn(StreamEvent{Kind: kind, Alert: a}); err != nil {
					return err
				}
			}
			kind, data = "", ""
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
