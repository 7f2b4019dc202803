package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/permission"
)

// genesisReport is what `jinlian genesis validate` prints.
type genesisReport struct {
	File    string `json:"file"`
	ChainID string `json:"chain_id"`
	Valid   bool   `json:"valid"`
	// Error is every problem, joined; Problems lists them one by one.
	Error         string   `json:"error,omitempty"`
	Problems      []string `json:"problems"`
	Warnings      []string `json:"warnings"`
	Organisations int      `json:"organisations"`
	Validators    int      `json:"validators"`
	Ledgers       int      `json:"ledgers"`
	Checkpoints   bool     `json:"checkpoints"`
}

func newGenesisCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "genesis", Short: "Build a network's genesis without editing JSON, and check it before the banks install it",
		Long: `The coordinator of a new network builds its genesis with these commands, each
of which edits the file in place (--genesis, default <home>/config/genesis.json)
and refuses bad input with an error naming the problem, changing nothing:

  jinlian genesis new --chain-id ID
  jinlian genesis add-org ID --name NAME --root-ca CA.pem
  jinlian genesis add-validator REGISTRATION.json --org ORG   (from jinlian init --registration-out)
  jinlian genesis grant ADDRESS --org ORG --roles committee,admin,issuer,member
  jinlian genesis add-ledger NAME --members A,B --asset SYMBOL:ISSUER:DECIMALS --balance ASSET:ACCOUNT:AMOUNT
  jinlian genesis set-params KEY=VALUE...
  jinlian genesis validate

docs/quickstart.md walks through a network of four banks.`}
	var path string
	validate := &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a genesis.json as every node will, and name every problem: CometBFT's part, jinlian's app_state, and what would make the network unusable",
		Long: `Parses FILE (default: --genesis, else <home>/config/genesis.json) as CometBFT
does (consensus parameters included), then runs jinlian's InitChain on it in
memory, as every node will at block 0 (checkpoint key registrations and
their proofs of possession included). It lists every problem, not only the
first: duplicate organisations, identities, validators, SM2 node keys, node
ids or checkpoint keys; incomplete consensus parameters; checkpoint keys
whose proof of possession or SM2 signature does not verify; no committee
(nothing could ever be proposed); validators whose nodes are not registered
(admission would lock them out). Any problem: exit 1. Warnings name what
would work but is unusual (checkpoints off).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := genesisPath(g, path)
			if len(args) == 1 {
				p = args[0]
			}
			rep := genesisReport{File: p, Problems: []string{}, Warnings: []string{}}
			validateGenesisFile(p, &rep)
			rep.Valid = len(rep.Problems) == 0
			rep.Error = strings.Join(rep.Problems, "; ")
			if perr := emit(cmd.OutOrStdout(), g, rep, func(w io.Writer) {
				if rep.Valid {
					fmt.Fprintf(w, "%s: valid genesis of chain %s: %d organisations, %d validators, %d sub-ledgers, checkpoints %s\n",
						rep.File, rep.ChainID, rep.Organisations, rep.Validators, rep.Ledgers, map[bool]string{true: "on", false: "off"}[rep.Checkpoints])
				}
				for _, p := range rep.Problems {
					fmt.Fprintf(w, "error: %s\n", p)
				}
				for _, w2 := range rep.Warnings {
					fmt.Fprintf(w, "warning: %s\n", w2)
				}
			}); perr != nil {
				return perr
			}
			if !rep.Valid {
				return fmt.Errorf("%s: %d problem(s): %s", p, len(rep.Problems), rep.Error)
			}
			return nil
		},
	}
	genesisPathFlag(validate, &path)
	cmd.AddCommand(genesisBuildCmds(g)...)
	cmd.AddCommand(validate)
	return cmd
}

// validateGenesisFile checks a genesis file and fills rep with every
// problem it finds.
func validateGenesisFile(path string, rep *genesisReport) {
	problem := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		if !slices.Contains(rep.Problems, msg) {
			rep.Problems = append(rep.Problems, msg)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		problem("%v", err)
		return
	}
	// CometBFT's part, first as a draft (so that the rest can be checked
	// even when CometBFT would refuse the file), then as CometBFT reads it.
	var doc types.GenesisDoc
	if err := cmtjson.Unmarshal(b, &doc); err != nil {
		problem("CometBFT genesis: %v", err)
		return
	}
	rep.ChainID = doc.ChainID
	for _, p := range consensusParamsProblems(b) {
		problem("%s", p)
	}
	if _, err := types.GenesisDocFromJSON(b); err != nil {
		problem("CometBFT genesis: %v", err)
	}
	if len(doc.AppState) == 0 {
		problem("no app_state: jinlian needs its organisations, identities and sub-ledgers")
		return
	}
	st, err := app.DecodeGenesis(doc.AppState)
	if err != nil {
		problem("%v", err)
		return
	}
	rep.Organisations, rep.Validators, rep.Ledgers = len(st.Organisations), len(doc.Validators), len(st.Ledgers)
	rep.Checkpoints = st.Params.CheckpointInterval > 0
	for _, p := range structuralProblems(&doc, st) {
		problem("%s", p)
	}
	for _, p := range completenessProblems(&doc, st) {
		problem("%s", p)
	}
	if err := st.ValidateDraft(); err != nil { // completeness is above
		problem("%v", err)
	}
	if len(rep.Problems) == 0 {
		// InitChain in memory catches what only applying the state shows
		// (balances past 2^64-1, ...); after a problem above it would
		// only repeat it.
		var vals []abci.ValidatorUpdate
		for _, v := range doc.Validators {
			vals = append(vals, types.TM2PB.NewValidatorUpdate(v.PubKey, v.Power))
		}
		if err := app.CheckGenesis(doc.ChainID, doc.AppState, vals, doc.GenesisTime); err != nil {
			problem("InitChain: %v", err)
		}
	}
	if !rep.Checkpoints {
		rep.Warnings = append(rep.Warnings, "checkpoints are off (params.checkpoint_interval 0): nothing will be anchored on Ethereum")
	}
	if doc.ConsensusParams != nil && doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight == 0 && !rep.Checkpoints {
		rep.Warnings = append(rep.Warnings, "vote extensions are off (consensus_params.abci.vote_extensions_enable_height 0): no height gets an SM2 quorum certificate")
	}
}

// consensusParamsProblems names the sections of consensus_params a genesis
// gives only in part: CometBFT then fails with "block.MaxBytes cannot be
// 0" and the like, which does not say what is missing.
func consensusParamsProblems(genesisJSON []byte) []string {
	var raw struct {
		ConsensusParams map[string]json.RawMessage `json:"consensus_params"`
	}
	if err := json.Unmarshal(genesisJSON, &raw); err != nil || raw.ConsensusParams == nil {
		return nil // absent: CometBFT's defaults, complete
	}
	want := map[string][]string{
		"block":     {"max_bytes", "max_gas"},
		"evidence":  {"max_age_num_blocks", "max_age_duration", "max_bytes"},
		"validator": {"pub_key_types"},
	}
	var missing []string
	for _, section := range []string{"block", "evidence", "validator"} {
		var fields map[string]json.RawMessage
		if s, ok := raw.ConsensusParams[section]; !ok || json.Unmarshal(s, &fields) != nil {
			missing = append(missing, section)
			continue
		}
		for _, f := range want[section] {
			if _, ok := fields[f]; !ok {
				missing = append(missing, section+"."+f)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("consensus_params is incomplete: %s missing (give every section, or start from jinlian genesis new, which writes them all)", strings.Join(missing, ", "))}
}

// structuralProblems are what no genesis may have, complete or not:
// duplicates, registrations that do not verify or name nothing. The
// genesis commands refuse to write a file with any of them.
func structuralProblems(doc *types.GenesisDoc, st *app.GenesisState) []string {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	orgs := map[string]bool{}
	for _, o := range st.Organisations {
		if orgs[o.ID] {
			add("organisation %s listed twice", o.ID)
		}
		orgs[o.ID] = true
	}
	ids := map[string]bool{}
	for _, id := range st.Identities {
		a := strings.ToLower(id.Address)
		if ids[a] {
			add("identity %s listed twice (once, with all its roles)", a)
		}
		ids[a] = true
	}
	cometVals := map[string]string{}
	for _, v := range doc.Validators {
		if v.PubKey == nil {
			add("validator %q has no pub_key", v.Name)
			continue
		}
		a := v.PubKey.Address().String()
		if _, ok := cometVals[a]; ok {
			add("validator %s listed twice in validators", a)
		}
		cometVals[a] = v.Name
	}
	appVals := map[string]permission.Validator{}
	sm2 := map[string]string{}
	for _, v := range st.Validators {
		a := strings.ToUpper(v.Address)
		if _, ok := appVals[a]; ok {
			add("validator %s registered twice in app_state.validators", a)
		}
		appVals[a] = v
		k := strings.ToLower(v.SM2PublicKey)
		if other, ok := sm2[k]; ok && other != a {
			add("validators %s and %s have the same SM2 node key", other, a)
		}
		sm2[k] = a
		if !orgs[v.Org] {
			add("validator %s names unknown organisation %q", a, v.Org)
		}
	}
	for _, a := range sortedKeys(cometVals) {
		if _, ok := appVals[a]; !ok {
			add("validator %s (%s) has no registration in app_state.validators (its SM2 node key): add it with jinlian genesis add-validator", a, cometVals[a])
		}
	}
	for _, v := range st.Validators {
		if _, ok := cometVals[strings.ToUpper(v.Address)]; !ok {
			add("app_state.validators registers %s, which is not a validator of the genesis (validators)", strings.ToUpper(v.Address))
		}
	}
	nodes := map[string]bool{}
	for _, n := range st.Nodes {
		id := strings.ToLower(n.ID)
		if nodes[id] {
			add("node %s registered twice", id)
		}
		nodes[id] = true
		if !orgs[n.Org] {
			add("node %s names unknown organisation %q", id, n.Org)
		}
	}
	cpVals := map[string]bool{}
	cpKeys := map[string]string{}
	for _, r := range st.CheckpointKeys {
		a := strings.ToUpper(r.Validator)
		if cpVals[a] {
			add("validator %s has two checkpoint keys", a)
		}
		cpVals[a] = true
		k := fmt.Sprintf("%x", []byte(r.CheckpointKey))
		if other, ok := cpKeys[k]; ok {
			add("checkpoint key %s registered for both %s and %s", k, other, a)
		}
		cpKeys[k] = a
		v, ok := appVals[a]
		if !ok {
			add("checkpoint key of %s, which is no registered validator", a)
			continue
		}
		pub, err := v.PublicKey()
		if err != nil {
			continue // reported by Validate
		}
		chain := r.ChainID
		if chain == "" {
			chain = doc.ChainID
		}
		r.ChainID = chain
		if err := r.Verify(doc.ChainID, pub); err != nil {
			add("checkpoint key of validator %s: %v", a, err)
		}
	}
	if st.Params.CheckpointInterval > 0 {
		for _, v := range st.Validators {
			if !cpVals[strings.ToUpper(v.Address)] {
				add("checkpoints are on but validator %s has no checkpoint key in checkpoint_keys", strings.ToUpper(v.Address))
			}
		}
		if st.Params.CheckpointSlots < len(st.Validators) {
			add("params.checkpoint_slots %d < %d validators", st.Params.CheckpointSlots, len(st.Validators))
		}
		if doc.ConsensusParams != nil && doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight == 0 {
			add("checkpoints are on but vote extensions are off (consensus_params.abci.vote_extensions_enable_height 0): checkpoint signatures travel in vote extensions")
		}
	}
	return probs
}

// completenessProblems are what a genesis being written may still lack,
// but a network started from it may not.
func completenessProblems(doc *types.GenesisDoc, st *app.GenesisState) []string {
	var probs []string
	if len(doc.Validators) == 0 {
		probs = append(probs, "no validators (add each founding bank's with jinlian genesis add-validator)")
	}
	if !slices.ContainsFunc(st.Identities, func(id permission.Identity) bool { return slices.Contains(id.Roles, permission.RoleCommittee) }) {
		probs = append(probs, "no identity holds the committee role: no proposal could ever be made (jinlian genesis grant ADDRESS --org ORG --roles committee)")
	}
	if len(st.Nodes) == 0 && len(doc.Validators) > 0 {
		probs = append(probs, "app_state.nodes is empty: admission is off until the first set-node proposal, which then refuses every founder's node not registered (jinlian genesis add-validator registers each validator's node)")
	} else {
		for _, v := range st.Validators {
			if !slices.ContainsFunc(st.Nodes, func(n permission.Node) bool { return n.Org == v.Org && n.Kind == "validator" }) {
				probs = append(probs, fmt.Sprintf("validator %s of %s has no registered validator node of its organisation: the peer filter would refuse it", v.Address, v.Org))
			}
		}
	}
	if len(st.Ledgers) == 0 {
		probs = append(probs, "no sub-ledgers (jinlian genesis add-ledger)")
	}
	return probs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
