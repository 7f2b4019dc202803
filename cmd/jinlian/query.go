package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/api"
	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/consensus"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proof"
	"github.com/jinlian-ledger/jinlian/wire"
)

// abciQuery runs an app query and decodes its JSON value into out.
func abciQuery(ctx context.Context, node nodeFlags, path string, data []byte, height int64, out any) error {
	c, err := dial(node)
	if err != nil {
		return err
	}
	res, err := c.ABCIQueryWithOptions(ctx, path, data, rpcclient.ABCIQueryOptions{Height: height})
	if err != nil {
		return fmt.Errorf("query %s on %s: %w", path, node, err)
	}
	if res.Response.Code != 0 {
		return fmt.Errorf("query %s: code %d (%s): %s", path, res.Response.Code, res.Response.Codespace, res.Response.Log)
	}
	return json.Unmarshal(res.Response.Value, out)
}

func newQueryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "query", Aliases: []string{"q"}, Short: "Read chain state"}

	var req app.BalanceRequest
	var height int64
	var balanceProof, txProof proveFlags
	balance := &cobra.Command{
		Use:   "balance",
		Short: "Balance of an account, at the latest or a given height",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := gmcrypto.ParseAddress(req.Account); err != nil {
				return fmt.Errorf("--account: %w", err)
			}
			if balanceProof.file != "" {
				addr, _ := gmcrypto.ParseAddress(req.Account)
				b, err := proveBalances(cmd.Context(), g, balanceProof, req.Ledger, []string{req.Asset}, addr, height)
				if err != nil {
					return err
				}
				amt, err := proof.BalanceOf(b.State.Entries[0])
				if err != nil {
					return err
				}
				out := app.BalanceResponse{BalanceRequest: app.BalanceRequest{Ledger: req.Ledger, Asset: req.Asset, Account: addr.String()}, Amount: amt, Height: b.Height}
				return emit(cmd.OutOrStdout(), g, map[string]any{"balance": out, "proof": balanceProof.file}, func(w io.Writer) {
					fmt.Fprintf(w, "%d %s on %s for %s at height %d\nproof bundle written to %s (jinlian verify proof %s --trust genesis.json)\n",
						out.Amount, out.Asset, out.Ledger, out.Account, out.Height, balanceProof.file, balanceProof.file)
				})
			}
			data, _ := json.Marshal(req)
			var out app.BalanceResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryBalance, data, height, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%d %s on %s for %s at height %d\n", out.Amount, out.Asset, out.Ledger, out.Account, out.Height)
			})
		},
	}
	balance.Flags().StringVar(&req.Ledger, "ledger", "payments", "sub-ledger")
	balance.Flags().StringVar(&req.Asset, "asset", "", "asset symbol")
	balance.Flags().StringVar(&req.Account, "account", "", "account address")
	balance.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	balanceProof.add(balance)
	_ = balance.MarkFlagRequired("asset")
	_ = balance.MarkFlagRequired("account")

	var creq app.BalanceRequest
	commitment := &cobra.Command{
		Use:   "commitment",
		Short: "Completeness commitment of an account's movements of an asset (SM3 chain, count, balance), at the latest or a given height",
		Long: "The account's completeness commitment (docs/reconciliation.md#completeness-commitments): the SM3 chain over\n" +
			"every movement of the asset it had, their count and its balance after the last one, and the state key\n" +
			"that holds them for a state proof. Through the API a member reads its own organisation's accounts only.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := gmcrypto.ParseAddress(creq.Account); err != nil {
				return fmt.Errorf("--account: %w", err)
			}
			data, _ := json.Marshal(creq)
			var out app.CommitmentResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryCommitment, data, height, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%s %s on %s at height %d: %d movements, balance %d, chain %s\n", out.Account, out.Asset, out.Ledger, out.Height, out.Count, out.Balance, out.Chain)
			})
		},
	}
	commitment.Flags().StringVar(&creq.Ledger, "ledger", "payments", "sub-ledger")
	commitment.Flags().StringVar(&creq.Asset, "asset", "", "asset symbol")
	commitment.Flags().StringVar(&creq.Account, "account", "", "account address")
	commitment.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	_ = commitment.MarkFlagRequired("asset")
	_ = commitment.MarkFlagRequired("account")

	var rreq app.RedemptionsRequest
	redemptions := &cobra.Command{
		Use:   "redemptions",
		Short: "An asset's redemption queue: units holders returned, waiting for the issuer to settle",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, _ := json.Marshal(rreq)
			var out app.RedemptionsResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryRedemptions, data, height, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%d %s pending on %s in %d redemptions at height %d\n", out.Pending, out.Asset, out.Ledger, len(out.Queue), out.Height)
				for _, r := range out.Queue {
					fmt.Fprintf(w, "  id %d: %d from %s (height %d) %s\n", r.ID, r.Amount, r.Holder, r.Height, r.Reference)
				}
			})
		},
	}
	redemptions.Flags().StringVar(&rreq.Ledger, "ledger", "payments", "sub-ledger")
	redemptions.Flags().StringVar(&rreq.Asset, "asset", "", "asset symbol")
	redemptions.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest)")
	_ = redemptions.MarkFlagRequired("asset")

	ledgers := &cobra.Command{
		Use:   "ledgers",
		Short: "Sub-ledgers with their assets and supply",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []app.LedgerInfo
			if err := abciQuery(cmd.Context(), g.node, app.QueryLedgers, nil, 0, &out); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				for _, l := range out {
					fmt.Fprintf(w, "%s\n", l.Name)
					for _, a := range l.Assets {
						fmt.Fprintf(w, "  %-8s issuer %-8s issued %d burned %d outstanding %d\n", a.Symbol, a.Issuer, a.Issued, a.Burned, a.Outstanding())
					}
				}
			})
		},
	}

	tx := &cobra.Command{
		Use:   "tx TXID",
		Short: "A committed transaction by its id (SM3 hex)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.ToLower(args[0])
			var out *txLookup
			var err error
			if txProof.file == "" || !isAPI(g.node) {
				out, err = lookupTx(cmd.Context(), g.node, id)
			}
			if isAPI(g.node) && (txProof.file != "" || err != nil && strings.Contains(err.Error(), "forbidden")) {
				// Through the API a member reads no raw block or tx
				// index: the node builds the transaction's bundle, for
				// the organisations it concerns, and its result is read
				// from it.
				out, err := proveTxThroughAPI(cmd.Context(), g, id, txProof)
				if err != nil {
					return err
				}
				return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
					fmt.Fprintf(w, "tx id:  %s\nheight: %d\ncode:   %d\nsource: %s\n", out.TxID, out.Height, out.Code, out.Source)
					if out.Proof != "" {
						fmt.Fprintf(w, "proof:  %s (jinlian verify proof %s --trust genesis.json)\n", out.Proof, out.Proof)
					}
				})
			}
			if err != nil {
				return err
			}
			if txProof.file != "" {
				src, err := proofSource(g, txProof.from)
				if err != nil {
					return err
				}
				b, err := src.Tx(cmd.Context(), out.Height, out.TxID)
				if err != nil {
					return fmt.Errorf("prove tx %s: %w", out.TxID, err)
				}
				if err := writeBundle(txProof.file, b); err != nil {
					return err
				}
				out.Proof = txProof.file
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "tx id:  %s\nhash:   %s\nheight: %d\ncode:   %d", out.TxID, out.Hash, out.Height, out.Code)
				if out.Codespace != "" {
					fmt.Fprintf(w, " (%s)", out.Codespace)
				}
				fmt.Fprintf(w, "\nsource: %s\n", out.Source)
				if out.Log != "" {
					fmt.Fprintf(w, "log:    %s\n", out.Log)
				}
				for _, e := range out.Events {
					fmt.Fprintf(w, "event:  %s\n", e)
				}
				if out.Proof != "" {
					fmt.Fprintf(w, "proof:  %s (jinlian verify proof %s --trust genesis.json)\n", out.Proof, out.Proof)
				}
			})
		},
	}
	txProof.add(tx)
	cmd.AddCommand(balance, commitment, newQueryAccountCmd(g), newQueryMovementsCmd(g), redemptions, ledgers, tx, newQueryTxsCmd(g), newQueryQCCmd(g), newQueryCustodyCmd(g), newQueryPvpCmd(g),
		newQueryReceivableCmd(g), newQueryReceivablesCmd(g), newQueryReservesCmd(g))
	cmd.AddCommand(registryQueryCmds(g)...)
	return cmd
}

type txLookup struct {
	txResult
	Events []string `json:"events"`
	// Source says where the result came from: the node's tx index, or
	// the results of the block the app says spent the id.
	Source string `json:"source"`
	// Proof is the file a --prove bundle was written to.
	Proof string `json:"proof,omitempty"`
}

// Where a looked-up result came from (txLookup.Source).
const (
	sourceTxIndex      = "tx index"
	sourceBlockResults = "block results"
)

// lookupTx finds a committed transaction's result. The app says whether and
// at which height the id was spent (a refused transaction spends its id
// too); the result then comes from the node's tx index, or, when the index
// lacks it (a failed transaction carries no jinlian_tx event to search by;
// an unclean stop can leave a height unindexed), from the block and its
// results. It never reports a result it did not read.
func lookupTx(ctx context.Context, node nodeFlags, id string) (*txLookup, error) {
	var loc app.TxLocation
	if err := abciQuery(ctx, node, app.QueryTx, []byte(id), 0, &loc); err != nil {
		return nil, err
	}
	c, err := dial(node)
	if err != nil {
		return nil, err
	}
	res, err := c.TxSearch(ctx, fmt.Sprintf("jinlian_tx.id='%s'", id), false, nil, nil, "asc")
	switch {
	case api.NoTxIndex(err):
		// tx_index.indexer = "null": read the block below.
	case err != nil:
		return nil, fmt.Errorf("search tx %s: %w", id, err)
	case len(res.Txs) > 0:
		r := res.Txs[0]
		return newTxLookup(id, r.Hash, r.Height, &r.TxResult, sourceTxIndex), nil
	}
	h := loc.Height
	blk, err := c.Block(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("tx %s was committed at height %d (app), but this node has it neither in its tx index nor its block store (%v): its result is unknown here; ask another node", id, h, err)
	}
	idx := -1
	for i, raw := range blk.Block.Txs {
		if t, err := wire.DecodeTx(raw); err == nil && wire.TxIDOf(t) == id {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("tx %s: the app records it at height %d, but that block holds no such transaction", id, h)
	}
	results, err := c.BlockResults(ctx, &h)
	if err != nil {
		return nil, fmt.Errorf("tx %s was committed at height %d, but this node has no results for that block (%v): its result is unknown here; ask another node", id, h, err)
	}
	if idx >= len(results.TxsResults) {
		return nil, fmt.Errorf("tx %s: block %d has %d results for %d transactions", id, h, len(results.TxsResults), len(blk.Block.Txs))
	}
	tx := blk.Block.Txs[idx]
	return newTxLookup(id, tx.Hash(), h, results.TxsResults[idx], sourceBlockResults), nil
}

// sourceProof: the result was read from a proof bundle the node built.
const sourceProof = "proof bundle"

// proveTxThroughAPI asks the API for transaction id's proof bundle
// (GET /v1/proofs/tx, through proof.Source as the web console does), at
// the height the app records for it, checks its shape and that it is
// id's, writes it to pf.file (if set) and returns what it says of the
// transaction.
func proveTxThroughAPI(ctx context.Context, g *globals, id string, pf proveFlags) (*txLookup, error) {
	var loc app.TxLocation
	if err := abciQuery(ctx, g.node, app.QueryTx, []byte(id), 0, &loc); err != nil {
		return nil, err
	}
	src, err := proofSource(g, pf.from)
	if err != nil {
		return nil, err
	}
	b, err := src.Tx(ctx, loc.Height, id)
	if err != nil {
		return nil, fmt.Errorf("prove tx %s: %w", id, err)
	}
	if pf.file != "" {
		if err := writeBundle(pf.file, b); err != nil {
			return nil, err
		}
	}
	return &txLookup{txResult: txResult{TxID: id, Height: b.Height, Code: b.Tx.Code}, Events: []string{}, Source: sourceProof, Proof: pf.file}, nil
}

func newTxLookup(id string, hash []byte, height int64, r *abci.ExecTxResult, source string) *txLookup {
	out := &txLookup{txResult: txResult{TxID: id, Hash: hex.EncodeToString(hash), Height: height,
		Code: r.Code, Codespace: r.Codespace, Log: r.Log}, Events: []string{}, Source: source}
	for _, e := range r.Events {
		parts := []string{}
		for _, a := range e.Attributes {
			parts = append(parts, a.Key+"="+a.Value)
		}
		out.Events = append(out.Events, e.Type+" "+strings.Join(parts, " "))
	}
	return out
}

func newStatusCmd(g *globals) *cobra.Command {
	var maxAge time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Node and chain status; exits 1 when the node looks halted",
		Long: `Prints the node's chain, height, latest block time and its age. A node that
is not catching up and whose latest block is older than --max-block-age looks
halted: its consensus stopped (CONSENSUS FAILURE in its log: clock skew, a
full disk), it is cut off from its peers, or the network lost its quorum.
The command then says so and exits 1, so it serves as a health check.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g.node)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			st, err := c.Status(ctx)
			if err != nil {
				return fmt.Errorf("node %s unreachable: %w", g.node, err)
			}
			nvals := 0 // unknown before the first block
			if vals, err := c.Validators(ctx, nil, nil, nil); err == nil {
				nvals = vals.Total
			}
			peers := -1 // unknown: the node's API does not forward net_info
			if ni, err := c.NetInfo(ctx); err == nil {
				peers = ni.NPeers
			}
			si := st.SyncInfo
			age := time.Since(si.LatestBlockTime)
			halted := maxAge > 0 && !si.CatchingUp && si.LatestBlockHeight > 0 && age > maxAge
			out := map[string]any{
				"chain_id":          st.NodeInfo.Network,
				"moniker":           st.NodeInfo.Moniker,
				"node_id":           string(st.NodeInfo.DefaultNodeID),
				"latest_height":     si.LatestBlockHeight,
				"latest_app_hash":   si.LatestAppHash.String(),
				"latest_block_time": si.LatestBlockTime,
				"block_age_seconds": int64(age.Seconds()),
				"catching_up":       si.CatchingUp,
				"halted":            halted,
				"validators":        nvals,
				"peers":             peers,
				"voting_power":      st.ValidatorInfo.VotingPower,
				"app_version":       st.NodeInfo.ProtocolVersion.App,
			}
			// A committed block is never from the future: one that looks
			// so says this machine's clock (or the node's) is behind.
			clock := ""
			if -age > consensus.MaxClockSkew {
				clock = fmt.Sprintf("the latest block is %s in the future by this machine's clock: this machine's clock, or the node's, is behind; synchronise it (NTP, docs/operations.md)", (-age).Round(time.Second))
				out["clock_warning"] = clock
			}
			if err := emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "chain:      %s\nnode:       %s (%s)\nheight:     %d\napp hash:   %s\nblock time: %s (%s ago)\nvalidators: %d\ncatching up: %v\n",
					st.NodeInfo.Network, st.NodeInfo.Moniker, st.NodeInfo.DefaultNodeID, si.LatestBlockHeight,
					si.LatestAppHash, si.LatestBlockTime.Format(time.RFC3339), age.Round(time.Second), nvals, si.CatchingUp)
				if peers >= 0 {
					fmt.Fprintf(w, "peers:      %d\n", peers)
				} else {
					fmt.Fprintf(w, "peers:      unknown (the node's API does not forward net_info; ask its RPC)\n")
				}
				if clock != "" {
					fmt.Fprintf(w, "clock:      %s\n", clock)
				}
				if halted {
					fmt.Fprintf(w, "halted:     PROBABLY: no new block for %s (limit %s)\n", age.Round(time.Second), maxAge)
				} else {
					fmt.Fprintf(w, "halted:     no\n")
				}
			}); err != nil {
				return err
			}
			if halted {
				return fmt.Errorf("node %s looks halted at height %d: no new block for %s and not catching up; look for CONSENSUS FAILURE in its log (a clock behind the network's, a full disk), check its peers, and check that the other validators run (docs/operations.md)",
					g.node, si.LatestBlockHeight, age.Round(time.Second))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&maxAge, "max-block-age", consensus.DefaultMaxBlockAge, "a node not catching up whose latest block is older than this looks halted (exit 1); 0: never")
	return cmd
}

func newDebugCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "debug", Short: "Operator checks"}
	var height int64
	inv := &cobra.Command{
		Use:   "invariants",
		Short: "Check per asset: sum of balances == issued − burned; every custody account's rules; every pvp trade's escrows; every receivable's parts sum to its face value, paid ≤ face; every reserves record is its height's balances, total + pending == issued − burned; every balance is its completeness commitment's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out app.InvariantsResponse
			if err := abciQuery(cmd.Context(), g.node, app.QueryInvariants, nil, height, &out); err != nil {
				return err
			}
			if err := emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				for _, r := range out.Results {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s %s/%s: balances %d, issued %d − burned %d\n", state, r.Ledger, r.Asset, r.SumBalances, r.Issued, r.Burned)
				}
				for _, r := range out.Commitments {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s %s/%s: %d completeness commitments over %d movements", state, r.Ledger, r.Asset, r.Accounts, r.Movements)
					if r.Mismatches > 0 {
						fmt.Fprintf(w, ": %d accounts whose balance is not their commitment's (first %s)", r.Mismatches, r.First)
					}
					fmt.Fprintln(w)
				}
				for _, r := range out.Custody {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s %s custody account %s: %d pending proposals", state, r.Ledger, r.Account, r.Pending)
					if r.Problem != "" {
						fmt.Fprintf(w, ": %s", r.Problem)
					}
					fmt.Fprintln(w)
				}
				for _, r := range out.Pvp {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s pvp trade %s: %s", state, r.Trade, r.Status)
					if r.Problem != "" {
						fmt.Fprintf(w, ": %s", r.Problem)
					}
					fmt.Fprintln(w)
				}
				for _, r := range out.Receivables {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s %s receivable %s: %s, parts %d of face %d, paid %d", state, r.Ledger, r.Receivable, r.Status, r.SumParts, r.FaceValue, r.Paid)
					if r.Problem != "" {
						fmt.Fprintf(w, ": %s", r.Problem)
					}
					fmt.Fprintln(w)
				}
				for _, r := range out.Reserves {
					state := "ok"
					if !r.Holds {
						state = "BROKEN"
					}
					fmt.Fprintf(w, "%-6s %s/%s reserves of height %d: total %d over %d accounts", state, r.Ledger, r.Asset, r.Height, r.Total, r.Accounts)
					if r.Problem != "" {
						fmt.Fprintf(w, ": %s", r.Problem)
					}
					fmt.Fprintln(w)
				}
				fmt.Fprintf(w, "height %d: invariants hold: %v\n", out.Height, out.Holds)
			}); err != nil {
				return err
			}
			if !out.Holds {
				return fmt.Errorf("invariants broken at height %d", out.Height)
			}
			return nil
		},
	}
	inv.Flags().Int64Var(&height, "height", 0, "height to check (0 = latest)")
	cmd.AddCommand(inv, newCheckDataCmd(g))
	return cmd
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := map[string]any{"version": app.Version, "app_protocol": app.AppVersion}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) { fmt.Fprintf(w, "jinlian %s (app protocol %d)\n", app.Version, app.AppVersion) })
		},
	}
}
