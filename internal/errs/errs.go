// Package errs registers the error codes jinlian returns at the ABCI
// boundary (codespace + code), in the manner of the Cosmos SDK's errors
// package: each module registers its sentinels once, call sites wrap them
// with context, and ABCIInfo maps any error chain back to its code.
//
// It imports nothing of jinlian, so every layer may use it.
package errs

import (
	"errors"
	"fmt"
	"sync"
)

// Error is a registered error: a code within a codespace and a description.
type Error struct {
	codespace string
	code      uint32
	desc      string
}

var (
	mu       sync.Mutex
	registry = map[string]*Error{}
)

// Register declares a new error. It panics on a duplicate (codespace, code)
// or on code 0, which ABCI reserves for success: both are programming errors
// caught at init.
func Register(codespace string, code uint32, desc string) *Error {
	if code == 0 {
		panic("errs: code 0 is reserved for success")
	}
	key := fmt.Sprintf("%s/%d", codespace, code)
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[key]; dup {
		panic("errs: duplicate registration " + key)
	}
	e := &Error{codespace: codespace, code: code, desc: desc}
	registry[key] = e
	return e
}

func (e *Error) Error() string     { return e.desc }
func (e *Error) Codespace() string { return e.codespace }
func (e *Error) Code() uint32      { return e.code }

// Wrapf returns an error that reads "<desc>: <context>" and still matches e
// with errors.Is.
func (e *Error) Wrapf(format string, args ...any) error {
	return &wrapped{reg: e, msg: fmt.Sprintf(format, args...)}
}

type wrapped struct {
	reg *Error
	msg string
}

func (w *wrapped) Error() string { return w.reg.desc + ": " + w.msg }
func (w *wrapped) Unwrap() error { return w.reg }

// Internal is what ABCIInfo reports for an error that carries no registered code.
var Internal = Register("jinlian", 1, "internal error")

// ABCIInfo returns the codespace, code and log for err. A nil error is code 0.
func ABCIInfo(err error) (codespace string, code uint32, log string) {
	if err == nil {
		return "", 0, ""
	}
	var reg *Error
	if errors.As(err, &reg) {
		return reg.codespace, reg.code, err.Error()
	}
	return Internal.codespace, Internal.code, Internal.desc + ": " + err.Error()
}
