package checkpoint

import "testing"

func TestHasQuorum(t *testing.T) {
	for _, tc := range []struct {
		signed, total int64
		want          bool
	}{
		{3, 4, true},
		{2, 3, false}, // exactly 2/3 is not more than 2/3
		{67, 100, true},
		{66, 100, false},
		{200, 300, false},
		{201, 300, true},
		{0, 0, false},
		{1, 1, true},
		{1 << 58, (1<<58)*3/2 + 1, false},
	} {
		if got := HasQuorum(tc.signed, tc.total); got != tc.want {
			t.Errorf("HasQuorum(%d, %d) = %v, want %v", tc.signed, tc.total, got, tc.want)
		}
	}
}
