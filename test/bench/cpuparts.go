package bench

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// CPUPart is one part of a run's node CPU per committed transfer, split by
// the node process's CPU profile of the load (--cpuprofile): Share is the
// part's share of the profile's samples, Us that share of the run's
// node_cpu_per_tx_us, so that the parts add up to it.
type CPUPart struct {
	Part  string  `json:"part"`
	Share float64 `json:"share"`
	Us    float64 `json:"us"`
}

// cpuParts are the parts, in the order a sample is given to the first
// whose functions are on its stack (and, for a sub-part, the method it is
// under): the application's work first (the SM2 verification and the
// envelope's decoding wherever they run, then each ABCI method, jinlian's
// split into the steps the profiles of issue 16 followed), then
// CometBFT's pieces under which the application's calls sit, so that
// CheckTx is not counted as the mempool's. A function matches a name that
// it equals or that it starts with followed by '.', '(' or, for a
// package, '/' (a package, or a type's methods).
var cpuParts = []struct {
	part  string
	funcs []string
	under []string // a sub-part: one of these is on the stack too
}{
	{part: "SM2 verification", funcs: []string{jl + "gmcrypto.(*PublicKey).Verify", jl + "gmcrypto.(*PublicKey).verify"}},
	{part: "envelope decoding", funcs: []string{jl + "wire.DecodeTx"}},
	{part: "app CheckTx: execution", funcs: []string{jl + "app.(*App).route"}, under: []string{jl + "app.(*App).CheckTx"}},
	{part: "app CheckTx: the rest", funcs: appMethods("CheckTx")},
	{part: "app Prepare/ProcessProposal", funcs: append(appMethods("PrepareProposal"), appMethods("ProcessProposal")...)},
	{part: "app FinalizeBlock: execution", funcs: []string{jl + "app.(*App).route"}, under: []string{jl + "app.(*App).FinalizeBlock"}},
	{part: "app FinalizeBlock: movements", funcs: []string{jl + "app.(*App).recordMovements"}},
	{part: "app FinalizeBlock: results root", funcs: []string{jl + "app.setTxResults"}},
	{part: "app FinalizeBlock: state root", funcs: []string{jl + "app.(*App).workingHash"}},
	{part: "app FinalizeBlock: the rest", funcs: appMethods("FinalizeBlock")},
	{part: "app Commit", funcs: appMethods("Commit")},
	{part: "app other ABCI", funcs: append(appMethods("ExtendVote"), append(appMethods("VerifyVoteExtension"), append(appMethods("Query"), appMethods("Info")...)...)...)},
	{part: "CometBFT tx index", funcs: []string{cmt + "state/txindex", cmt + "state/indexer"}},
	{part: "CometBFT event bus", funcs: []string{cmt + "types.(*EventBus)", cmt + "libs/pubsub"}},
	{part: "CometBFT mempool", funcs: []string{cmt + "mempool"}},
	{part: "CometBFT RPC", funcs: []string{cmt + "rpc"}},
	{part: "CometBFT p2p", funcs: []string{cmt + "p2p"}},
	{part: "CometBFT block and state stores", funcs: []string{cmt + "store", cmt + "state"}},
	{part: "CometBFT consensus and the rest", funcs: []string{strings.TrimSuffix(cmt, "/")}},
	// What the stores do on goroutines of their own (compaction, flushing
	// memtables); their work under an ABCI method or CometBFT's code is
	// counted there.
	{part: "Badger (background)", funcs: []string{"github.com/dgraph-io/badger/v4", "github.com/dgraph-io/ristretto/v2"}},
	{part: "goleveldb (background)", funcs: []string{"github.com/syndtr/goleveldb"}},
	{part: "Go collector (background)", funcs: []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"}},
}

const (
	jl  = "github.com/jinlian-ledger/jinlian/"
	cmt = "github.com/cometbft/cometbft/"
)

// appMethods names an ABCI method of both applications the bench runs.
func appMethods(m string) []string {
	return []string{
		jl + "app.(*App)." + m,
		cmt + "abci/example/kvstore.(*Application)." + m,
	}
}

// otherPart is where a sample that no part names goes.
const otherPart = "other (Go runtime, ...)"

// matchFunc reports whether function name is fn or lies under it.
func matchFunc(name, fn string) bool {
	if !strings.HasPrefix(name, fn) {
		return false
	}
	if len(name) == len(fn) {
		return true
	}
	c := name[len(fn)]
	return c == '.' || c == '(' || c == '/' && !strings.Contains(fn[strings.LastIndexByte(fn, '/')+1:], ".")
}

// splitProfile splits a CPU profile's samples into cpuParts (and
// otherPart), as shares of its total, in cpuParts' order.
func splitProfile(r io.Reader) ([]CPUPart, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return nil, err
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("not a CPU profile (no cpu sample type)")
	}
	sums := make([]int64, len(cpuParts)+1)
	var total int64
	for _, s := range p.Sample {
		v := s.Value[idx]
		total += v
		sums[partOf(s)] += v
	}
	if total == 0 {
		return nil, fmt.Errorf("the profile holds no samples")
	}
	out := make([]CPUPart, 0, len(sums))
	for i, v := range sums {
		name := otherPart
		if i < len(cpuParts) {
			name = cpuParts[i].part
		}
		out = append(out, CPUPart{Part: name, Share: float64(v) / float64(total)})
	}
	return out, nil
}

// partOf is the index in cpuParts of the first part any of whose
// functions is on s's stack (with one of its under, for a sub-part), or
// len(cpuParts).
func partOf(s *profile.Sample) int {
	var stack []string
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil {
				stack = append(stack, line.Function.Name)
			}
		}
	}
	onStack := func(fns []string) bool {
		for _, name := range stack {
			for _, fn := range fns {
				if matchFunc(name, fn) {
					return true
				}
			}
		}
		return false
	}
	for i, p := range cpuParts {
		if onStack(p.funcs) && (p.under == nil || onStack(p.under)) {
			return i
		}
	}
	return len(cpuParts)
}

// setCPUParts splits r's node CPU per transfer by the profile at path.
func (r *Result) setCPUParts(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	parts, err := splitProfile(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for i := range parts {
		parts[i].Us = parts[i].Share * r.NodeCPUPerTxUs
	}
	r.CPUParts = parts
	return nil
}

// printCPUParts prints, for the results that have them, their CPU parts
// side by side, in µs per committed transfer; after a kvstore column,
// each jinlian column is followed by its difference from it.
func printCPUParts(w io.Writer, results []*Result) {
	type column struct {
		head string
		us   []float64 // the parts, then the total
		diff bool
	}
	usOf := func(r *Result) []float64 {
		us := make([]float64, 0, len(r.CPUParts)+1)
		for _, p := range r.CPUParts {
			us = append(us, p.Us)
		}
		return append(us, r.NodeCPUPerTxUs)
	}
	var table []column
	var parts []CPUPart
	var base []float64
	for _, r := range results {
		if len(r.CPUParts) == 0 {
			continue
		}
		parts = r.CPUParts
		head := r.App
		if r.Round > 0 {
			head = fmt.Sprintf("%s #%d", r.App, r.Round)
		}
		us := usOf(r)
		table = append(table, column{head: head, us: us})
		if r.App == "kvstore" {
			base = us
		} else if len(base) == len(us) {
			d := make([]float64, len(us))
			for i := range us {
				d[i] = us[i] - base[i]
			}
			table = append(table, column{head: "+ beyond kvstore", us: d, diff: true})
		}
	}
	if len(table) == 0 {
		return
	}
	fmt.Fprintf(w, "\nnode CPU per committed transfer by part (µs: each run's cpu/tx split by its CPU profile of the load; a median row's parts are the rounds' medians):\n")
	fmt.Fprintf(w, "%-36s", "part")
	for _, c := range table {
		fmt.Fprintf(w, " %16s", c.head)
	}
	fmt.Fprintln(w)
	for i := 0; i <= len(parts); i++ {
		name := "total (cpu/tx)"
		if i < len(parts) {
			name = parts[i].Part
		}
		fmt.Fprintf(w, "%-36s", name)
		for _, c := range table {
			format := " %16.1f"
			if c.diff {
				format = " %+16.1f"
			}
			fmt.Fprintf(w, format, c.us[i])
		}
		fmt.Fprintln(w)
	}
}
