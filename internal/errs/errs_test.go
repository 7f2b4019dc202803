package errs

import (
	"errors"
	"fmt"
	"testing"
)

var errTest = Register("test", 7, "thing is broken")

func TestABCIInfo(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		space string
		code  uint32
		log   string
	}{
		{"nil is success", nil, "", 0, ""},
		{"registered", errTest, "test", 7, "thing is broken"},
		{"wrapped keeps code", errTest.Wrapf("part %d", 3), "test", 7, "thing is broken: part 3"},
		{"fmt-wrapped keeps code", fmt.Errorf("outer: %w", errTest.Wrapf("x")), "test", 7, "outer: thing is broken: x"},
		{"plain error is internal", errors.New("boom"), "jinlian", 1, "internal error: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, code, log := ABCIInfo(c.err)
			if s != c.space || code != c.code || log != c.log {
				t.Fatalf("ABCIInfo = (%q, %d, %q), want (%q, %d, %q)", s, code, log, c.space, c.code, c.log)
			}
		})
	}
	if !errors.Is(errTest.Wrapf("x"), errTest) {
		t.Fatal("wrapped error does not match its sentinel")
	}
}

func TestRegisterRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate registration did not panic")
		}
	}()
	Register("test", 7, "again")
}
