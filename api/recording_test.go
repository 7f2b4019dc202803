package api

import (
	"net/http"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/rpc/core"
	rpcserver "github.com/cometbft/cometbft/rpc/jsonrpc/server"
)

// RecordedCall is one call as CometBFT's RPC server decoded it.
type RecordedCall struct {
	Method string
	Args   []any // decoded arguments, without the context
}

// RecordingRPC is CometBFT's own RPC server (rpc/jsonrpc/server: JSON-RPC on
// "/", the URI form on "/<method>", any HTTP method) over the route map of
// rpc/core, unsafe routes included, with CometBFT's own argument names and
// types, whose functions only record what they were called with. It stands
// for the node behind the API in tests that play the adversary: what it
// records is what a real node would have executed.
type RecordingRPC struct {
	Handler http.Handler
	mu      sync.Mutex
	calls   []RecordedCall
}

// NewRecordingRPC builds the server; serve Handler with httptest.
func NewRecordingRPC() *RecordingRPC {
	rec := &RecordingRPC{}
	env := &core.Environment{}
	routes := env.GetRoutes()
	env.AddUnsafeRoutes(routes)
	funcs := map[string]*rpcserver.RPCFunc{}
	for name, f := range routes {
		fn, argNames, _, ws := rpcFuncShape(f)
		if ws {
			funcs[name] = f // answered "method not found" over HTTP
			continue
		}
		funcs[name] = rpcserver.NewRPCFunc(rec.recorder(name, fn).Interface(), strings.Join(argNames, ","))
	}
	mux := http.NewServeMux()
	rpcserver.RegisterRPCFuncs(mux, funcs, log.NewNopLogger())
	mux.HandleFunc("/websocket", func(w http.ResponseWriter, r *http.Request) {
		rec.add(RecordedCall{Method: "websocket"})
		w.WriteHeader(http.StatusOK)
	})
	rec.Handler = rpcserver.RecoverAndLogHandler(mux, log.NewNopLogger())
	return rec
}

func (rec *RecordingRPC) add(c RecordedCall) {
	rec.mu.Lock()
	rec.calls = append(rec.calls, c)
	rec.mu.Unlock()
}

// Take returns the calls recorded since the last Take.
func (rec *RecordingRPC) Take() []RecordedCall {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	c := rec.calls
	rec.calls = nil
	return c
}

func (rec *RecordingRPC) recorder(name string, t reflect.Type) reflect.Value {
	return reflect.MakeFunc(t, func(in []reflect.Value) []reflect.Value {
		args := make([]any, len(in)-1)
		for i, a := range in[1:] {
			args[i] = a.Interface()
		}
		rec.add(RecordedCall{Method: name, Args: args})
		return []reflect.Value{reflect.Zero(t.Out(0)), reflect.Zero(t.Out(1))}
	})
}

// rpcFuncShape reads what CometBFT keeps unexported in an RPCFunc: the
// function's type, the argument names and types (without the context),
// and whether it is websocket-only. Tests only.
func rpcFuncShape(f *rpcserver.RPCFunc) (fn reflect.Type, argNames []string, args []reflect.Type, ws bool) {
	v := reflect.ValueOf(f).Elem()
	field := func(name string) reflect.Value {
		fv := v.FieldByName(name)
		return reflect.NewAt(fv.Type(), unsafe.Pointer(fv.UnsafeAddr())).Elem()
	}
	fn = field("f").Interface().(reflect.Value).Type()
	return fn, field("argNames").Interface().([]string), field("args").Interface().([]reflect.Type)[1:], field("ws").Bool()
}
