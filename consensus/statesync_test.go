package consensus

import (
	"context"
	"strings"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
)

func TestApplyStateSync(t *testing.T) {
	hash := strings.Repeat("AB", 32)
	for _, tc := range []struct {
		name    string
		trust   StateSyncTrust
		period  time.Duration
		wantErr string
	}{
		{"two servers, default period", StateSyncTrust{Height: 9, Hash: hash, RPCServers: []string{"http://a:26657", "http://b:26657"}}, 0, ""},
		{"own trust period", StateSyncTrust{Height: 9, Hash: hash, RPCServers: []string{"http://a:26657", "http://a:26657"}}, time.Hour, ""},
		{"one server", StateSyncTrust{Height: 9, Hash: hash, RPCServers: []string{"http://a:26657"}}, 0, "two rpc_servers"},
		{"no height", StateSyncTrust{Hash: hash, RPCServers: []string{"http://a:26657", "http://b:26657"}}, 0, "trusted_height"},
		{"hash not hex", StateSyncTrust{Height: 9, Hash: "zz", RPCServers: []string{"http://a:26657", "http://b:26657"}}, 0, "trusted_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg.DefaultConfig()
			err := ApplyStateSync(c, tc.trust, tc.period)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ss := c.StateSync
			if !ss.Enable || ss.TrustHeight != 9 || ss.TrustHash != strings.ToLower(hash) || len(ss.RPCServers) != 2 {
				t.Fatalf("statesync config %+v", ss)
			}
			if tc.period != 0 && ss.TrustPeriod != tc.period || tc.period == 0 && ss.TrustPeriod != cfg.DefaultStateSyncConfig().TrustPeriod {
				t.Fatalf("trust period %v", ss.TrustPeriod)
			}
		})
	}
}

func TestTrustFromUnreachableNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := TrustFrom(ctx, "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "status of http://127.0.0.1:1") {
		t.Fatalf("unreachable node: %v", err)
	}
}
