package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/contracts/payments"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/wire"
)

// DefaultGenesisCheckpointInterval is the checkpoint interval of
// `jinlian genesis new`: hourly at a 1 s block time (docs/checkpoints.md).
const DefaultGenesisCheckpointInterval = 3600

// genesisDraft is a genesis file being edited by the genesis commands:
// CometBFT's document and jinlian's app_state, decoded.
type genesisDraft struct {
	path string
	doc  *types.GenesisDoc
	app  *app.GenesisState
}

// loadDraft reads a genesis file for editing. It checks forms only: a
// draft may lack validators, ledgers and everything else a network needs.
func loadDraft(path string) (*genesisDraft, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w (create it with jinlian genesis new --chain-id ID --genesis %s)", err, path)
		}
		return nil, err
	}
	var doc types.GenesisDoc
	if err := cmtjson.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: CometBFT genesis: %w", path, err)
	}
	st := &app.GenesisState{}
	if len(doc.AppState) > 0 {
		if st, err = app.DecodeGenesis(doc.AppState); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &genesisDraft{path: path, doc: &doc, app: st}, nil
}

// save checks the edited draft (forms and references, no duplicates, valid
// registrations) and replaces the file atomically; on any problem the file
// is left as it was.
func (d *genesisDraft) save() error {
	if err := d.app.ValidateDraft(); err != nil {
		return err
	}
	if probs := structuralProblems(d.doc, d.app); len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	st, err := json.MarshalIndent(d.app, "", "  ")
	if err != nil {
		return err
	}
	d.doc.AppState = st
	if err := d.doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("CometBFT genesis: %w", err)
	}
	b, err := cmtjson.MarshalIndent(d.doc, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(d.path, append(b, '\n'))
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// genesisPathFlag adds --genesis, defaulting to <home>/config/genesis.json.
func genesisPathFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "genesis", "", "genesis file to edit (default <home>/config/genesis.json)")
}

func genesisPath(g *globals, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(g.home, "config", "genesis.json")
}

// genesisEditCmd makes a command that loads the draft, lets edit change
// it, and saves it; edit returns what it did, for the output.
func genesisEditCmd(g *globals, use, short string, args cobra.PositionalArgs, edit func(d *genesisDraft, args []string) (string, error)) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := genesisPath(g, path)
			d, err := loadDraft(p)
			if err != nil {
				return err
			}
			what, err := edit(d, args)
			if err != nil {
				return fmt.Errorf("%s: %w (nothing changed)", p, err)
			}
			if err := d.save(); err != nil {
				return fmt.Errorf("%s: %w (nothing changed)", p, err)
			}
			out := map[string]string{"genesis": p, "change": what}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { fmt.Fprintf(w, "%s: %s\n", p, what) })
		},
	}
	genesisPathFlag(cmd, &path)
	return cmd
}

func genesisBuildCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newGenesisNewCmd(g), newGenesisAddOrgCmd(g), newGenesisAddValidatorCmd(g), newGenesisAddNodeCmd(g),
		newGenesisAddLedgerCmd(g), newGenesisGrantCmd(g), newGenesisSetParamsCmd(g)}
}

func newGenesisNewCmd(g *globals) *cobra.Command {
	var path, chainID, at string
	var interval int64
	var slots int
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Write a new genesis: complete consensus parameters, SM2 quorum certificates from height 1, checkpoints on",
		Long: fmt.Sprintf(`Writes a genesis with no organisations, validators or ledgers yet, for the
other genesis commands to fill: every section of CometBFT's consensus
parameters (blocks capped at %d bytes), vote extensions from height 1 (every
height gets its SM2 quorum certificate), jinlian's default parameters, and
checkpoints every --checkpoint-interval blocks (0: off) for a proof circuit
of --checkpoint-slots validators.`, consensus.DefaultMaxBlockBytes),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := genesisPath(g, path)
			if _, err := os.Stat(p); err == nil && !overwrite {
				return fmt.Errorf("%s exists: pass --overwrite to replace it", p)
			}
			t := time.Now().UTC().Truncate(time.Second)
			if at != "" {
				var err error
				if t, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--genesis-time: %w", err)
				}
			}
			if interval < 0 || slots < 0 {
				return fmt.Errorf("--checkpoint-interval %d, --checkpoint-slots %d: negative", interval, slots)
			}
			params := types.DefaultConsensusParams()
			params.Block.MaxBytes = consensus.DefaultMaxBlockBytes
			params.ABCI.VoteExtensionsEnableHeight = 1
			st := &app.GenesisState{Organisations: []permission.Organisation{}, Identities: []permission.Identity{},
				Ledgers: []app.GenesisLedger{}, Params: app.DefaultParams()}
			if interval > 0 {
				st.Params.CheckpointInterval, st.Params.CheckpointSlots = interval, slots
			}
			// Reserves at every checkpoint (docs/reserves.md).
			st.Params.ReservesInterval = interval
			d := &genesisDraft{path: p, app: st, doc: &types.GenesisDoc{GenesisTime: t, ChainID: chainID, InitialHeight: 1, ConsensusParams: params}}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := d.save(); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			cps := "off"
			if interval > 0 {
				cps = fmt.Sprintf("every %d blocks, %d slots", interval, slots)
			}
			out := map[string]string{"genesis": p, "chain_id": chainID, "genesis_time": t.Format(time.RFC3339), "checkpoints": cps}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%s: new genesis of chain %s, genesis time %s, checkpoints %s\n", p, chainID, out["genesis_time"], cps)
				fmt.Fprintln(w, "next: jinlian genesis add-org, add-validator, grant, add-ledger; then jinlian genesis validate")
			})
		},
	}
	genesisPathFlag(cmd, &path)
	cmd.Flags().StringVar(&chainID, "chain-id", "", "the chain's id (goes into every transaction)")
	cmd.Flags().StringVar(&at, "genesis-time", "", "RFC 3339 time before which no block is made (default: now)")
	cmd.Flags().Int64Var(&interval, "checkpoint-interval", DefaultGenesisCheckpointInterval, "blocks between checkpoints (0: checkpoints off)")
	cmd.Flags().IntVar(&slots, "checkpoint-slots", checkpoint.DevSlots, "validator slots of the checkpoint proof circuit (the most validators a checkpoint can hold)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace an existing file")
	_ = cmd.MarkFlagRequired("chain-id")
	return cmd
}

func newGenesisAddOrgCmd(g *globals) *cobra.Command {
	var name, rootCA string
	cmd := genesisEditCmd(g, "add-org ID", "Add an organisation with its root CA certificate (jinlian ca init)", cobra.ExactArgs(1), func(d *genesisDraft, args []string) (string, error) {
		id := args[0]
		if err := permission.ValidateOrgID(id); err != nil {
			return "", err
		}
		if slices.ContainsFunc(d.app.Organisations, func(o permission.Organisation) bool { return o.ID == id }) {
			return "", fmt.Errorf("organisation %s is already in the genesis", id)
		}
		o := permission.Organisation{ID: id, Name: name}
		if rootCA != "" {
			pem, err := os.ReadFile(rootCA)
			if err != nil {
				return "", fmt.Errorf("--root-ca: %w", err)
			}
			if err := permission.ValidateRootCA(id, string(pem)); err != nil {
				return "", fmt.Errorf("--root-ca %s: %w", rootCA, err)
			}
			o.RootCA = string(pem)
		}
		d.app.Organisations = append(d.app.Organisations, o)
		if o.RootCA == "" {
			return fmt.Sprintf("added organisation %s (%s) without a root CA: its identities sign with bare keys (development only)", id, name), nil
		}
		return fmt.Sprintf("added organisation %s (%s) with its root CA", id, name), nil
	})
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&rootCA, "root-ca", "", "root CA certificate PEM file (jinlian ca init); without it the organisation's identities sign with bare keys (development only)")
	return cmd
}

func newGenesisAddValidatorCmd(g *globals) *cobra.Command {
	var org, name string
	var power int64
	cmd := genesisEditCmd(g, "add-validator REGISTRATION.json", "Add a founding bank's validator from its registration (jinlian init --registration-out): consensus key, SM2 node key, node admission, checkpoint key", cobra.ExactArgs(1), func(d *genesisDraft, args []string) (string, error) {
		r, err := readRegistration(args[0])
		if err != nil {
			return "", err
		}
		if org == "" {
			org = r.Org
		}
		switch {
		case org == "":
			return "", errors.New("--org: the validator's organisation (the registration names none)")
		case r.Org != "" && r.Org != org:
			return "", fmt.Errorf("--org %s, but the registration is of organisation %s", org, r.Org)
		case !slices.ContainsFunc(d.app.Organisations, func(o permission.Organisation) bool { return o.ID == org }):
			return "", fmt.Errorf("organisation %s is not in the genesis (add it first with jinlian genesis add-org %s)", org, org)
		case power <= 0:
			return "", fmt.Errorf("--power %d: want a positive voting power", power)
		}
		if name == "" {
			name = r.Moniker
		}
		pk, _ := r.consensusKey()
		for _, v := range d.doc.Validators {
			if bytes.Equal(v.PubKey.Bytes(), pk.Bytes()) {
				return "", fmt.Errorf("validator %s (%s) is already in the genesis", r.Address, v.Name)
			}
		}
		for _, v := range d.app.Validators {
			if strings.EqualFold(v.SM2PublicKey, r.SM2PublicKey) {
				return "", fmt.Errorf("SM2 node key %s… is already registered for validator %s", r.SM2PublicKey[:16], v.Address)
			}
		}
		for _, n := range d.app.Nodes {
			if strings.EqualFold(n.ID, r.NodeID) {
				return "", fmt.Errorf("node id %s is already registered (organisation %s)", r.NodeID, n.Org)
			}
		}
		cps := d.app.Params.CheckpointInterval > 0
		var cpReg *checkpoint.Registration
		if r.CheckpointKey != nil {
			cr := *r.CheckpointKey
			if cr.ChainID != d.doc.ChainID {
				return "", fmt.Errorf("the checkpoint key was registered for chain %q, this genesis is of chain %q (run jinlian init --chain-id %s again on the node)", cr.ChainID, d.doc.ChainID, d.doc.ChainID)
			}
			if !strings.EqualFold(cr.Validator, r.Address) {
				return "", fmt.Errorf("the checkpoint key is registered for validator %s, not for this registration's %s", cr.Validator, r.Address)
			}
			pub, err := permission.Validator{Address: r.Address, SM2PublicKey: r.SM2PublicKey}.PublicKey()
			if err != nil {
				return "", err
			}
			if err := cr.Verify(d.doc.ChainID, pub); err != nil {
				return "", fmt.Errorf("checkpoint key of validator %s: %w", r.Address, err)
			}
			for _, k := range d.app.CheckpointKeys {
				if bytes.Equal(k.CheckpointKey, cr.CheckpointKey) {
					return "", fmt.Errorf("checkpoint key %x is already registered for validator %s", []byte(cr.CheckpointKey), k.Validator)
				}
			}
			cr.ChainID = "" // the genesis's own chain
			cpReg = &cr
		} else if cps {
			return "", fmt.Errorf("the genesis enables checkpoints but the registration of %s has no checkpoint key (run jinlian init --chain-id %s --registration-out FILE on the node)", r.Address, d.doc.ChainID)
		}
		if cps && d.app.Params.CheckpointSlots < len(d.app.Validators)+1 {
			return "", fmt.Errorf("params.checkpoint_slots %d is full: %d validators would not fit the checkpoint circuit (raise it with jinlian genesis set-params checkpoint_slots=N, with proving keys for N slots)", d.app.Params.CheckpointSlots, len(d.app.Validators)+1)
		}
		d.doc.Validators = append(d.doc.Validators, types.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: power, Name: name})
		d.app.Validators = append(d.app.Validators, permission.Validator{Name: name, Org: org, Address: r.Address, SM2PublicKey: strings.ToLower(r.SM2PublicKey)})
		d.app.Nodes = append(d.app.Nodes, permission.Node{ID: strings.ToLower(r.NodeID), Org: org, Kind: "validator"})
		what := fmt.Sprintf("added validator %s (%s) of %s with power %d, node %s", r.Address, name, org, power, strings.ToLower(r.NodeID))
		if cpReg != nil && cps {
			d.app.CheckpointKeys = append(d.app.CheckpointKeys, *cpReg)
			what += ", checkpoint key verified"
		}
		return what, nil
	})
	cmd.Flags().StringVar(&org, "org", "", "the validator's organisation (default: the one the registration names)")
	cmd.Flags().StringVar(&name, "name", "", "validator name (default: the registration's moniker)")
	cmd.Flags().Int64Var(&power, "power", 10, "voting power")
	return cmd
}

func newGenesisAddNodeCmd(g *globals) *cobra.Command {
	var org, kind string
	cmd := genesisEditCmd(g, "add-node NODE_ID", "Admit a non-validator node (a regulator's observer, a full node) through the peer filter from block 1", cobra.ExactArgs(1), func(d *genesisDraft, args []string) (string, error) {
		id := strings.ToLower(args[0])
		if len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" {
			return "", fmt.Errorf("node id %q: want 40 hex digits (jinlian init prints it)", args[0])
		}
		if kind != "observer" && kind != "validator" {
			return "", fmt.Errorf("--kind %q: want observer or validator", kind)
		}
		if !slices.ContainsFunc(d.app.Organisations, func(o permission.Organisation) bool { return o.ID == org }) {
			return "", fmt.Errorf("organisation %q is not in the genesis", org)
		}
		for _, n := range d.app.Nodes {
			if n.ID == id {
				return "", fmt.Errorf("node id %s is already registered (organisation %s)", id, n.Org)
			}
		}
		d.app.Nodes = append(d.app.Nodes, permission.Node{ID: id, Org: org, Kind: kind})
		return fmt.Sprintf("admitted %s node %s of %s", kind, id, org), nil
	})
	cmd.Flags().StringVar(&org, "org", "", "the node's organisation")
	cmd.Flags().StringVar(&kind, "kind", "observer", "observer or validator")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func newGenesisAddLedgerCmd(g *globals) *cobra.Command {
	var members, assets, balances []string
	cmd := genesisEditCmd(g, "add-ledger NAME", "Add a sub-ledger with its member organisations, assets and opening balances", cobra.ExactArgs(1), func(d *genesisDraft, args []string) (string, error) {
		l := app.GenesisLedger{Name: args[0], Assets: []payments.Asset{}}
		if slices.ContainsFunc(d.app.Ledgers, func(x app.GenesisLedger) bool { return x.Name == l.Name }) {
			return "", fmt.Errorf("sub-ledger %s is already in the genesis", l.Name)
		}
		isOrg := func(id string) bool {
			return slices.ContainsFunc(d.app.Organisations, func(o permission.Organisation) bool { return o.ID == id })
		}
		for _, m := range members {
			if !isOrg(m) {
				return "", fmt.Errorf("--members: organisation %q is not in the genesis", m)
			}
			if slices.Contains(l.Members, m) {
				return "", fmt.Errorf("--members: %s listed twice", m)
			}
			l.Members = append(l.Members, m)
		}
		for _, s := range assets {
			parts := strings.Split(s, ":")
			if len(parts) != 3 {
				return "", fmt.Errorf("--asset %q: want SYMBOL:ISSUER:DECIMALS, e.g. CNY:bankA:2", s)
			}
			dec, err := strconv.ParseUint(parts[2], 10, 32)
			if err != nil {
				return "", fmt.Errorf("--asset %q: decimals %q: want a number", s, parts[2])
			}
			a := payments.Asset{Symbol: parts[0], Issuer: parts[1], Decimals: uint32(dec)}
			if err := payments.ValidateAsset(a); err != nil {
				return "", fmt.Errorf("--asset %q: %w", s, err)
			}
			if !isOrg(a.Issuer) {
				return "", fmt.Errorf("--asset %q: issuer organisation %q is not in the genesis", s, a.Issuer)
			}
			if slices.ContainsFunc(l.Assets, func(x payments.Asset) bool { return x.Symbol == a.Symbol }) {
				return "", fmt.Errorf("--asset %q: asset %s listed twice", s, a.Symbol)
			}
			l.Assets = append(l.Assets, a)
		}
		sums := map[string]uint64{}
		for _, s := range balances {
			parts := strings.Split(s, ":")
			if len(parts) != 3 {
				return "", fmt.Errorf("--balance %q: want ASSET:ACCOUNT:AMOUNT, e.g. CNY:f313364e…:100000000", s)
			}
			if !slices.ContainsFunc(l.Assets, func(x payments.Asset) bool { return x.Symbol == parts[0] }) {
				return "", fmt.Errorf("--balance %q: asset %s is not among --asset", s, parts[0])
			}
			addr, err := gmcrypto.ParseAddress(parts[1])
			if err != nil {
				return "", fmt.Errorf("--balance %q: %w", s, err)
			}
			amt, err := strconv.ParseUint(parts[2], 10, 64)
			if err != nil || amt == 0 {
				return "", fmt.Errorf("--balance %q: amount %q: want a positive whole number of the smallest unit", s, parts[2])
			}
			if sums[parts[0]] > math.MaxUint64-amt {
				return "", fmt.Errorf("--balance %q: the balances of %s add up past 2^64-1", s, parts[0])
			}
			sums[parts[0]] += amt
			if slices.ContainsFunc(l.Balances, func(b app.GenesisBalance) bool { return b.Asset == parts[0] && b.Account == addr.String() }) {
				return "", fmt.Errorf("--balance %q: a balance of %s for %s listed twice", s, parts[0], addr)
			}
			l.Balances = append(l.Balances, app.GenesisBalance{Asset: parts[0], Account: addr.String(), Amount: amt})
		}
		d.app.Ledgers = append(d.app.Ledgers, l)
		who := "every genesis organisation"
		if len(l.Members) > 0 {
			who = strings.Join(l.Members, ", ")
		}
		return fmt.Sprintf("added sub-ledger %s (members: %s; %d assets, %d opening balances)", l.Name, who, len(l.Assets), len(l.Balances)), nil
	})
	cmd.Flags().StringSliceVar(&members, "members", nil, "member organisations, comma-separated (default: every organisation of the genesis)")
	cmd.Flags().StringArrayVar(&assets, "asset", nil, "an asset, SYMBOL:ISSUER:DECIMALS (repeatable)")
	cmd.Flags().StringArrayVar(&balances, "balance", nil, "an opening balance, ASSET:ACCOUNT:AMOUNT in the smallest unit; it counts as issued (repeatable)")
	return cmd
}

func newGenesisGrantCmd(g *globals) *cobra.Command {
	var org, name string
	var roles []string
	cmd := genesisEditCmd(g, "grant ADDRESS", "Register an identity of an organisation with roles (committee, admin, issuer, member, regulator, auditor, ...), or add roles to it", cobra.ExactArgs(1), func(d *genesisDraft, args []string) (string, error) {
		addr, err := gmcrypto.ParseAddress(args[0])
		if err != nil {
			return "", err
		}
		if len(roles) == 0 {
			return "", errors.New("--roles: give at least one role")
		}
		for _, r := range roles {
			if err := permission.ValidateRole(r); err != nil {
				return "", fmt.Errorf("--roles: %w", err)
			}
		}
		i := slices.IndexFunc(d.app.Identities, func(id permission.Identity) bool { return strings.EqualFold(id.Address, addr.String()) })
		if i < 0 {
			if !slices.ContainsFunc(d.app.Organisations, func(o permission.Organisation) bool { return o.ID == org }) {
				return "", fmt.Errorf("--org: organisation %q is not in the genesis", org)
			}
			d.app.Identities = append(d.app.Identities, permission.Identity{Name: name, Address: addr.String(), Org: org, Roles: slices.Clone(roles)})
			return fmt.Sprintf("registered identity %s of %s with roles %s", addr, org, strings.Join(roles, ",")), nil
		}
		id := &d.app.Identities[i]
		if org != "" && id.Org != org {
			return "", fmt.Errorf("identity %s is of organisation %s, not %s", addr, id.Org, org)
		}
		var added []string
		for _, r := range roles {
			if !slices.Contains(id.Roles, r) {
				id.Roles = append(id.Roles, r)
				added = append(added, r)
			}
		}
		if name != "" {
			id.Name = name
		}
		if len(added) == 0 {
			return fmt.Sprintf("identity %s of %s already holds %s", addr, id.Org, strings.Join(roles, ",")), nil
		}
		return fmt.Sprintf("granted %s to identity %s of %s", strings.Join(added, ","), addr, id.Org), nil
	})
	cmd.Flags().StringVar(&org, "org", "", "the identity's organisation")
	cmd.Flags().StringSliceVar(&roles, "roles", nil, "roles, comma-separated: committee, admin, issuer, member, regulator, auditor, member:<ledger>, ...")
	cmd.Flags().StringVar(&name, "name", "", "the identity's name")
	return cmd
}

// consensusParamKeys are the CometBFT parameters set-params changes.
var consensusParamKeys = []string{"block.max_bytes", "block.max_gas", "evidence.max_age_num_blocks", "evidence.max_age_duration", "evidence.max_bytes", "abci.vote_extensions_enable_height"}

// appParamKeys are the JSON names of app.Params, in declaration order.
func appParamKeys() []string {
	var keys []string
	t := reflect.TypeFor[app.Params]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

func newGenesisSetParamsCmd(g *globals) *cobra.Command {
	cmd := genesisEditCmd(g, "set-params KEY=VALUE...", "Set consortium parameters (app_state.params) and CometBFT consensus parameters", cobra.MinimumNArgs(1), func(d *genesisDraft, args []string) (string, error) {
		var done []string
		for _, kv := range args {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", fmt.Errorf("%q: want KEY=VALUE", kv)
			}
			if err := setGenesisParam(d, k, v); err != nil {
				return "", fmt.Errorf("%s: %w", k, err)
			}
			done = append(done, k+"="+v)
		}
		return "set " + strings.Join(done, " "), nil
	})
	cmd.Long = `Each argument is KEY=VALUE. jinlian's parameters (app_state.params, bounds in
docs/governance.md): ` + strings.Join(slices.DeleteFunc(appParamKeys(), func(k string) bool { return k == "gov_thresholds" }), ", ") + `,
gov_thresholds.<proposal type>; a share is NUM/DEN (hold_wide_threshold=3/4,
gov_thresholds.set_params=3/4). CometBFT's: ` + strings.Join(consensusParamKeys, ", ") + `
(a duration as 48h0m0s). The result is checked (bounds; with checkpoints on,
a checkpoint key for every validator and enough slots; vote extensions on)
before the file is written.`
	return cmd
}

func setGenesisParam(d *genesisDraft, key, val string) error {
	if slices.Contains(consensusParamKeys, key) {
		cp := d.doc.ConsensusParams
		if cp == nil {
			cp = types.DefaultConsensusParams()
			d.doc.ConsensusParams = cp
		}
		if key == "evidence.max_age_duration" {
			dur, err := time.ParseDuration(val)
			if err != nil {
				return err
			}
			cp.Evidence.MaxAgeDuration = dur
			return cp.ValidateBasic()
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("%q: want a whole number", val)
		}
		switch key {
		case "block.max_bytes":
			cp.Block.MaxBytes = n
		case "block.max_gas":
			cp.Block.MaxGas = n
		case "evidence.max_age_num_blocks":
			cp.Evidence.MaxAgeNumBlocks = n
		case "evidence.max_bytes":
			cp.Evidence.MaxBytes = n
		case "abci.vote_extensions_enable_height":
			cp.ABCI.VoteExtensionsEnableHeight = n
		}
		return cp.ValidateBasic()
	}
	// jinlian's parameters: through their JSON form, so that every field
	// of app.Params is settable by its one name.
	b, err := json.Marshal(d.app.Params)
	if err != nil {
		return err
	}
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	fraction := func(s string) (map[string]int64, error) {
		num, den, ok := strings.Cut(s, "/")
		n, err1 := strconv.ParseInt(num, 10, 64)
		dn, err2 := strconv.ParseInt(den, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q: want NUM/DEN, e.g. 2/3", s)
		}
		return map[string]int64{"num": n, "den": dn}, nil
	}
	switch kind, isGov := strings.CutPrefix(key, "gov_thresholds."); {
	case isGov:
		if !slices.Contains(wire.ProposalTypes(), kind) {
			return fmt.Errorf("unknown proposal type %q (known: %s)", kind, strings.Join(wire.ProposalTypes(), ", "))
		}
		f, err := fraction(val)
		if err != nil {
			return err
		}
		th, _ := m["gov_thresholds"].(map[string]any)
		if th == nil {
			th = map[string]any{}
		}
		th[kind] = f
		m["gov_thresholds"] = th
	case key == "hold_wide_threshold":
		f, err := fraction(val)
		if err != nil {
			return err
		}
		m[key] = f
	case key == "gov_thresholds" || !slices.Contains(appParamKeys(), key):
		return fmt.Errorf("unknown parameter (known: %s, gov_thresholds.<proposal type>, %s)", strings.Join(slices.DeleteFunc(appParamKeys(), func(k string) bool { return k == "gov_thresholds" }), ", "), strings.Join(consensusParamKeys, ", "))
	default:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("%q: want a whole number", val)
		}
		m[key] = n
	}
	b, err = json.Marshal(m)
	if err != nil {
		return err
	}
	var p app.Params
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	d.app.Params = p
	return nil
}
