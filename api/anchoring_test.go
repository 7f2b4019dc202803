package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jinlian-ledger/jinlian/api"
)

// TestAnchoringEndpoint: GET /v1/anchoring answers what the node read of
// the anchor, 404 when the node does not know where it is, 502 when it
// could not read it, 400 for parameters; the client reads it back.
func TestAnchoringEndpoint(t *testing.T) {
	status := &api.AnchoringStatus{Contract: "0xAnchor", RPC: "http://eth", Epoch: 7, Height: 70, AppHash: "AB", ChainAppHash: "AB", Match: true, EthTx: "0x01", EthBlock: 9}
	cases := []struct {
		name   string
		source api.AnchoringSource
		query  string
		code   int
		want   string
	}{
		{"no source", nil, "", 404, "not told where the checkpoint anchor is"},
		{"the node does not know the anchor", func(context.Context) (*api.AnchoringStatus, error) { return nil, api.ErrNoAnchor }, "", 404, "checkpoint.eth_rpc"},
		{"the contract cannot be read", func(context.Context) (*api.AnchoringStatus, error) {
			return nil, errors.New("eth_call: connection refused")
		}, "", 502, "connection refused"},
		{"a parameter", func(context.Context) (*api.AnchoringStatus, error) { return status, nil }, "?epoch=3", 400, "takes no parameters"},
		{"read", func(context.Context) (*api.AnchoringStatus, error) { return status, nil }, "", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := api.Start(api.Options{Listen: "127.0.0.1:0", RPC: "tcp://127.0.0.1:1", Status: fakeStatus{}, Anchoring: c.source})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Stop() })
			if c.query != "" {
				resp, err := http.Get(s.URL() + "/v1/anchoring" + c.query)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.code {
					t.Fatalf("HTTP %d, want %d", resp.StatusCode, c.code)
				}
				return
			}
			got, err := api.Node{Addr: s.URL()}.Anchoring(context.Background(), nil)
			var apiErr *api.Error
			switch {
			case c.code == 200:
				if err != nil || *got != *status {
					t.Fatalf("%+v, %v", got, err)
				}
			case !errors.As(err, &apiErr) || apiErr.Status != c.code || !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %v, want HTTP %d naming %q", err, c.code, c.want)
			}
		})
	}
}
