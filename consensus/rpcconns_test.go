package consensus

import "testing"

func TestRPCConnLimit(t *testing.T) {
	for _, c := range []struct {
		name       string
		configured int
		nofile     uint64
		want       int
	}{
		{"auto from the file limit", 0, 20000, 20000 - rpcFileReserve},
		{"auto with a large limit is capped", 0, 1 << 30, 1 << 20},
		{"auto with an unknown limit", 0, 0, minRPCConns},
		{"auto with a small limit", 0, 1024, minRPCConns},
		{"a configured value the limit holds is kept", 900, 20000, 900},
		{"a configured value beyond the limit is lowered", 50000, 20000, 20000 - rpcFileReserve},
		{"negative is auto", -1, 20000, 20000 - rpcFileReserve},
	} {
		if got := rpcConnLimit(c.configured, c.nofile); got != c.want {
			t.Errorf("%s: rpcConnLimit(%d, %d) = %d, want %d", c.name, c.configured, c.nofile, got, c.want)
		}
	}
}
