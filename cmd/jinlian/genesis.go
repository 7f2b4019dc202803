package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/permission"
)

// genesisReport is what `jinlian genesis validate` prints.
type genesisReport struct {
	File          string   `json:"file"`
	ChainID       string   `json:"chain_id"`
	Valid         bool     `json:"valid"`
	Error         string   `json:"error,omitempty"`
	Warnings      []string `json:"warnings"`
	Organisations int      `json:"organisations"`
	Validators    int      `json:"validators"`
	Ledgers       int      `json:"ledgers"`
	Checkpoints   bool     `json:"checkpoints"`
}

func newGenesisCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "genesis", Short: "Check a network's genesis before the banks install it"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a genesis.json as every node will: CometBFT's part, jinlian's app_state, and what would make the network unusable",
		Long: `Parses FILE as CometBFT does (consensus parameters included), then runs
jinlian's InitChain on it in memory, as every node will at block 0 (checkpoint
key registrations and their proofs of possession included). An error is
what no node would start from (exit 1). Warnings name what would start but
not work as a consortium: no committee (nothing could ever be proposed), no
registered nodes (admission stays off until the first set-node proposal,
which then locks out every founder not registered), checkpoints off.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := genesisReport{File: args[0], Warnings: []string{}}
			err := validateGenesisFile(args[0], &rep)
			rep.Valid = err == nil
			if err != nil {
				rep.Error = err.Error()
			}
			if perr := emit(cmd.OutOrStdout(), g, rep, func(w io.Writer) {
				if rep.Valid {
					fmt.Fprintf(w, "%s: valid genesis of chain %s: %d organisations, %d validators, %d sub-ledgers, checkpoints %s\n",
						rep.File, rep.ChainID, rep.Organisations, rep.Validators, rep.Ledgers, map[bool]string{true: "on", false: "off"}[rep.Checkpoints])
				}
				for _, w2 := range rep.Warnings {
					fmt.Fprintf(w, "warning: %s\n", w2)
				}
			}); perr != nil {
				return perr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return nil
		},
	})
	return cmd
}

// validateGenesisFile checks a genesis file and fills rep.
func validateGenesisFile(path string, rep *genesisReport) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := types.GenesisDocFromJSON(b)
	if err != nil {
		return fmt.Errorf("CometBFT genesis: %w", err)
	}
	rep.ChainID = doc.ChainID
	if len(doc.AppState) == 0 {
		return errors.New("no app_state: jinlian needs its organisations, identities and sub-ledgers")
	}
	st, err := app.ParseGenesis(doc.AppState)
	if err != nil {
		return err
	}
	var vals []abci.ValidatorUpdate
	for _, v := range doc.Validators {
		vals = append(vals, types.TM2PB.NewValidatorUpdate(v.PubKey, v.Power))
	}
	if err := app.CheckGenesis(doc.ChainID, doc.AppState, vals, doc.GenesisTime); err != nil {
		return err
	}
	rep.Organisations, rep.Validators, rep.Ledgers = len(st.Organisations), len(doc.Validators), len(st.Ledgers)
	rep.Checkpoints = st.Params.CheckpointInterval > 0
	if !slices.ContainsFunc(st.Identities, func(id permission.Identity) bool { return slices.Contains(id.Roles, permission.RoleCommittee) }) {
		rep.Warnings = append(rep.Warnings, "no identity holds the committee role: no proposal could ever be made (add committee members to app_state.identities)")
	}
	if len(st.Nodes) == 0 && len(doc.Validators) > 0 {
		rep.Warnings = append(rep.Warnings, "app_state.nodes is empty: admission is off until the first set-node proposal, which then refuses every founder's node not registered (register every founding node)")
	}
	for _, v := range st.Validators {
		if !slices.ContainsFunc(st.Nodes, func(n permission.Node) bool { return n.Org == v.Org && n.Kind == "validator" }) && len(st.Nodes) > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("validator %s of %s has no registered node of its organisation: the peer filter would refuse it", v.Address, v.Org))
		}
	}
	if !rep.Checkpoints {
		rep.Warnings = append(rep.Warnings, "checkpoints are off (params.checkpoint_interval 0): nothing will be anchored on Ethereum")
	}
	return nil
}
