package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Limits of a request the gate reads.
const (
	maxGateBody  = 8 << 20 // bytes
	maxGateBatch = 10      // calls in one batch: CometBFT's default rpc.max_request_batch_size
)

// rpcArg is one argument of a CometBFT RPC method: its name in params and
// the Go type CometBFT decodes it into.
type rpcArg struct {
	name string
	typ  reflect.Type
}

func arg[T any](name string) rpcArg { return rpcArg{name: name, typ: reflect.TypeFor[T]()} }

// rpcArgs are the arguments of every method of methodRules, as CometBFT
// v0.38 declares them (rpc/core/routes.go and the Environment methods).
// TestGateTableMatchesCometBFT pins names and types to the linked version.
var rpcArgs = func() map[string][]rpcArg {
	height := []rpcArg{arg[*int64]("height")}
	tx := []rpcArg{arg[cmttypes.Tx]("tx")}
	return map[string][]rpcArg{
		"health":              nil,
		"status":              nil,
		"abci_info":           nil,
		"num_unconfirmed_txs": nil,
		"genesis":             nil,
		"validators":          {arg[*int64]("height"), arg[*int]("page"), arg[*int]("per_page")},
		"commit":              height,
		"block":               height,
		"block_results":       height,
		"header":              height,
		"block_by_hash":       {arg[[]byte]("hash")},
		"blockchain":          {arg[int64]("minHeight"), arg[int64]("maxHeight")},
		"broadcast_tx_sync":   tx,
		"broadcast_tx_async":  tx,
		"broadcast_tx_commit": tx,
		"check_tx":            tx,
		"tx":                  {arg[[]byte]("hash"), arg[bool]("prove")},
		"tx_search":           {arg[string]("query"), arg[bool]("prove"), arg[*int]("page"), arg[*int]("per_page"), arg[string]("order_by")},
		"block_search":        {arg[string]("query"), arg[*int]("page"), arg[*int]("per_page"), arg[string]("order_by")},
		"unconfirmed_txs":     {arg[*int]("limit")},
		"genesis_chunked":     {arg[uint]("chunk")},
		"abci_query":          {arg[string]("path"), arg[cmtbytes.HexBytes]("data"), arg[int64]("height"), arg[bool]("prove")},
	}
}()

// rpcCall is one JSON-RPC call as the gate checked it and forwards it.
type rpcCall struct {
	id     json.RawMessage // compact JSON: a string or a number
	method string
	// args holds one value per rpcArgs[method], decoded by CometBFT's
	// rules (libs/json) from the bytes forwarded; absent ones are zero.
	args []reflect.Value
	// params are the arguments the client gave, re-encoded by libs/json.
	params map[string]json.RawMessage
}

// queryPath and queryData are abci_query's path and data.
func (c rpcCall) queryPath() string { return c.args[0].String() }
func (c rpcCall) queryData() []byte { return c.args[1].Bytes() }

// gateRequest is a request the gate accepted the shape of.
type gateRequest struct {
	websocket bool
	calls     []rpcCall
	body      []byte // the JSON-RPC body to forward, encoded from calls
}

// parseRequest accepts exactly two shapes and refuses every other:
//
//   - POST / without a query string, whose body is one JSON-RPC call or a
//     batch of 1 to maxGateBatch. Every object must use exactly the keys
//     jsonrpc ("2.0", optional), id (a string or a number), method and
//     params (an object; optional), each once and spelt exactly: Go's
//     encoding/json, which CometBFT uses, matches keys case-insensitively
//     and lets a later duplicate win. method must be one of methodRules;
//     params may hold only that method's argument names, each decoded with
//     CometBFT's libs/json into CometBFT's type for it. Array params and
//     notifications (no id) are refused.
//   - GET /websocket without a query string (authorized separately).
//
// CometBFT's URI form (GET or POST /<method>?<args>, or form-encoded
// bodies) is refused: CometBFT serves every route on every HTTP method and
// decodes URI arguments by rules of its own (0x… hex, "…" quoted).
func parseRequest(r *http.Request) (*gateRequest, error) {
	if r.URL.RawQuery != "" || r.URL.Path != "/" && r.URL.Path != "/websocket" {
		return nil, fmt.Errorf("%s %s: the API serves JSON-RPC as POST / and events as GET /websocket; CometBFT's URI form (/<method>?<args>) is not served", r.Method, r.URL.RequestURI())
	}
	if r.URL.Path == "/websocket" {
		if r.Method != http.MethodGet {
			return nil, fmt.Errorf("%s /websocket: want GET", r.Method)
		}
		return &gateRequest{websocket: true}, nil
	}
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("%s /: JSON-RPC wants POST", r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGateBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxGateBody {
		return nil, fmt.Errorf("body over %d bytes", maxGateBody)
	}
	return parseBody(body)
}

// parseBody parses a JSON-RPC body (see parseRequest) and encodes the body
// to forward from what it parsed.
func parseBody(body []byte) (*gateRequest, error) {
	type wire struct {
		JSONRPC string                     `json:"jsonrpc"`
		ID      json.RawMessage            `json:"id"`
		Method  string                     `json:"method"`
		Params  map[string]json.RawMessage `json:"params"`
	}
	encode := func(c rpcCall) wire { return wire{JSONRPC: "2.0", ID: c.id, Method: c.method, Params: c.params} }
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		elems, err := strictArray(body)
		if err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
		if len(elems) == 0 || len(elems) > maxGateBatch {
			return nil, fmt.Errorf("batch of %d calls: want 1 to %d", len(elems), maxGateBatch)
		}
		req := &gateRequest{}
		out := make([]wire, len(elems))
		for i, e := range elems {
			c, err := parseCall(e)
			if err != nil {
				return nil, fmt.Errorf("batch call %d: %w", i, err)
			}
			req.calls = append(req.calls, c)
			out[i] = encode(c)
		}
		if req.body, err = json.Marshal(out); err != nil {
			return nil, err
		}
		return req, nil
	}
	c, err := parseCall(body)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(encode(c))
	if err != nil {
		return nil, err
	}
	return &gateRequest{calls: []rpcCall{c}, body: b}, nil
}

func parseCall(raw []byte) (rpcCall, error) {
	f, err := strictObject(raw, []string{"jsonrpc", "id", "method", "params"})
	if err != nil {
		return rpcCall{}, fmt.Errorf("JSON-RPC call: %w", err)
	}
	if v, ok := f["jsonrpc"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || s != "2.0" {
			return rpcCall{}, fmt.Errorf(`JSON-RPC call: jsonrpc %s: want "2.0"`, v)
		}
	}
	var c rpcCall
	id, ok := f["id"]
	if !ok {
		return c, errors.New("JSON-RPC call without an id: notifications are not served")
	}
	var idv any
	if err := json.Unmarshal(id, &idv); err != nil {
		return c, fmt.Errorf("JSON-RPC id %s: %v", id, err)
	}
	switch idv.(type) {
	case string, float64:
	default:
		return c, fmt.Errorf("JSON-RPC id %s: want a string or a number", id)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, id); err != nil {
		return c, fmt.Errorf("JSON-RPC id %s: %v", id, err)
	}
	c.id = compact.Bytes()
	if err := json.Unmarshal(f["method"], &c.method); err != nil {
		return c, fmt.Errorf("JSON-RPC method %s: want a string", f["method"])
	}
	args, known := rpcArgs[c.method]
	if _, served := methodRules[c.method]; !known || !served {
		return c, fmt.Errorf("method %q is not served by the API", c.method)
	}
	var given map[string]json.RawMessage
	if p, ok := f["params"]; ok && !bytes.Equal(p, []byte("null")) {
		names := make([]string, len(args))
		for i, a := range args {
			names[i] = a.name
		}
		if given, err = strictObject(p, names); err != nil {
			return c, fmt.Errorf("%s params: %w", c.method, err)
		}
	}
	c.args = make([]reflect.Value, len(args))
	c.params = map[string]json.RawMessage{}
	for i, a := range args {
		c.args[i] = reflect.Zero(a.typ)
		p, ok := given[a.name]
		if !ok {
			continue
		}
		if c.args[i], c.params[a.name], err = decodeArg(a, p); err != nil {
			return c, fmt.Errorf("%s param %s: %w", c.method, a.name, err)
		}
	}
	return c, nil
}

// decodeArg decodes p as CometBFT does (libs/json into the argument's
// type), re-encodes it, and returns the value decoded from the re-encoded
// bytes: what CometBFT will see of what the gate forwards. A value that
// does not survive the round trip is refused.
func decodeArg(a rpcArg, p json.RawMessage) (reflect.Value, json.RawMessage, error) {
	first := reflect.New(a.typ)
	if err := cmtjson.Unmarshal(p, first.Interface()); err != nil {
		return reflect.Value{}, nil, err
	}
	enc, err := cmtjson.Marshal(first.Elem().Interface())
	if err != nil {
		return reflect.Value{}, nil, err
	}
	again := reflect.New(a.typ)
	if err := cmtjson.Unmarshal(enc, again.Interface()); err != nil {
		return reflect.Value{}, nil, err
	}
	if !reflect.DeepEqual(first.Elem().Interface(), again.Elem().Interface()) {
		return reflect.Value{}, nil, fmt.Errorf("%s does not survive re-encoding", p)
	}
	return again.Elem(), enc, nil
}

// strictObject decodes a JSON object whose keys are among allowed, spelt
// exactly and each at most once, with nothing after it.
func strictObject(raw []byte, allowed []string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("malformed JSON object")
		}
		if !slices.Contains(allowed, key) {
			return nil, fmt.Errorf("unknown key %q (keys are case-sensitive; want %s)", key, strings.Join(allowed, ", "))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		out[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("malformed JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return out, nil
}

// strictArray decodes a JSON array into its elements, with nothing after it.
func strictArray(raw []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("want a JSON array")
	}
	var out []json.RawMessage
	for dec.More() {
		if len(out) == maxGateBatch {
			return nil, fmt.Errorf("more than %d calls", maxGateBatch)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		out = append(out, v)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		return nil, fmt.Errorf("malformed JSON array")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON array")
	}
	return out, nil
}
