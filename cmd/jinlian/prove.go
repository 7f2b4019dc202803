package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/proof"
)

// proofSource reads bundles from --node as the web console does
// (proof.NodeSource): CometBFT's RPC, and the QC from the API's /v1/qc
// when --node is the API.
func proofSource(g *globals, from int64) (proof.Source, error) {
	c, err := dial(g.node)
	if err != nil {
		return proof.Source{}, err
	}
	return proof.NodeSource(c, apiGetter(g.node), from), nil
}

// apiGetter reads the node's API when --node is one (https://), else nil.
func apiGetter(nf nodeFlags) proof.GetJSON {
	if !isAPI(nf) {
		return nil
	}
	n := apiNode(nf)
	return func(ctx context.Context, path string, out any) error { return n.Get(ctx, nil, path, out) }
}

// writeBundle writes b to path.
func writeBundle(path string, b *proof.Bundle) error {
	raw, err := b.Encode()
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}

// proveFlags are the flags of a command that can write a proof bundle.
type proveFlags struct {
	file string
	from int64
}

func (p *proveFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "prove", "", "write a proof bundle to this file (docs/proofs.md; check it with jinlian verify proof)")
	cmd.Flags().Int64Var(&p.from, "prove-from", 0, "height the bundle's header chain starts at (0: the node's earliest block); a verifier trusting --trust-height needs it included")
}

// proveBalances writes a state bundle of account's balances of assets on
// ledgerName at height (0: the latest with a QC) and returns the bundle.
func proveBalances(ctx context.Context, g *globals, pf proveFlags, ledgerName string, assets []string, account gmcrypto.Address, height int64) (*proof.Bundle, error) {
	src, err := proofSource(g, pf.from)
	if err != nil {
		return nil, err
	}
	b, err := src.Balances(ctx, height, ledgerName, assets, account)
	if err != nil {
		return nil, err
	}
	return b, writeBundle(pf.file, b)
}

// AccountBalances is what query account prints.
type AccountBalances struct {
	Ledger   string         `json:"ledger"`
	Account  string         `json:"account"`
	Height   int64          `json:"height"`
	Balances []AssetBalance `json:"balances"`
	Proof    string         `json:"proof,omitempty"`
}

// AssetBalance is one proven (or read) balance.
type AssetBalance struct {
	Asset  string `json:"asset"`
	Amount uint64 `json:"amount,string"`
}

func newQueryAccountCmd(g *globals) *cobra.Command {
	var ledgerName, account string
	var assets []string
	var height int64
	var pf proveFlags
	cmd := &cobra.Command{
		Use:   "account",
		Short: "An account's balances of the given assets; with --prove, a bundle proving them (or their absence)",
		Long: `Reads an account's balance of each --asset on --ledger. With --prove FILE
the balances are read from a state proof of each balance key (a balance
never set is proven absent, and is 0) at the latest height whose SM2 quorum
certificate is committed (or --height), and the bundle is written to FILE:

  jinlian query account --ledger payments --account ADDR --asset CNY --asset USD --prove acct.json
  jinlian verify proof acct.json --trust genesis.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := gmcrypto.ParseAddress(account)
			if err != nil {
				return fmt.Errorf("--account: %w", err)
			}
			out := AccountBalances{Ledger: ledgerName, Account: addr.String(), Balances: []AssetBalance{}}
			if pf.file == "" {
				for _, a := range assets {
					var r app.BalanceResponse
					if err := abciQuery(cmd.Context(), g.node, app.QueryBalance, balanceRequest(ledgerName, a, addr), height, &r); err != nil {
						return err
					}
					out.Height = r.Height
					out.Balances = append(out.Balances, AssetBalance{Asset: a, Amount: r.Amount})
				}
			} else {
				b, err := proveBalances(cmd.Context(), g, pf, ledgerName, assets, addr, height)
				if err != nil {
					return err
				}
				out.Height, out.Proof = b.Height, pf.file
				for i, e := range b.State.Entries {
					amt, err := proof.BalanceOf(e)
					if err != nil {
						return err
					}
					out.Balances = append(out.Balances, AssetBalance{Asset: assets[i], Amount: amt})
				}
			}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "%s on %s at height %d\n", out.Account, out.Ledger, out.Height)
				for _, b := range out.Balances {
					fmt.Fprintf(w, "  %-8s %d\n", b.Asset, b.Amount)
				}
				if out.Proof != "" {
					fmt.Fprintf(w, "proof bundle written to %s (jinlian verify proof %s --trust genesis.json)\n", out.Proof, out.Proof)
				}
			})
		},
	}
	cmd.Flags().StringVar(&ledgerName, "ledger", "payments", "sub-ledger")
	cmd.Flags().StringVar(&account, "account", "", "account address")
	cmd.Flags().StringArrayVar(&assets, "asset", nil, "asset symbol (repeat for several)")
	cmd.Flags().Int64Var(&height, "height", 0, "height to read at (0 = latest; with --prove, the latest with a quorum certificate)")
	pf.add(cmd)
	_ = cmd.MarkFlagRequired("account")
	_ = cmd.MarkFlagRequired("asset")
	return cmd
}

func balanceRequest(ledgerName, asset string, addr gmcrypto.Address) []byte {
	return []byte(fmt.Sprintf(`{"ledger":%q,"asset":%q,"account":%q}`, ledgerName, asset, addr.String()))
}

const verifyProofLong = `Checks a proof bundle (docs/proofs.md) offline: it contacts no node.

Trust comes from one of:
  --trust genesis.json          the chain's genesis file: its chain id and
                                validators; the bundle's header chain must
                                start at the genesis height
  --trust-height H --trust-hash X
                                a block you trust (from your own node, or
                                another member's): the bundle's header chain
                                must include block H, hashing to X
  --guomi (with --trust)        SM2/SM3 alone: no CometBFT header or
                                commitment is checked; the SM2 quorum
                                certificate is checked against the SM2 node
                                keys and powers of the genesis

Steps, each failure naming its field: the bundle's shape; the header chain
from the trusted point to block H+1 with CometBFT's light-client rules
(light_blocks); block H+1's app hash is the bundle's (app_hash); the ledger
roots hash to it with SM3 (ledger_roots); each validator's SM2 node key is
proven in the state of H (certificate.registry) and the SM2 quorum
certificate of H verifies with them (certificate.qc); then the fact: each
key's value or absence under the app hash (state.entries), or the
transaction in block H's data_hash and its result in block H+1's
last_results_hash, and in the SM3 results commitment of H (tx.*).

With --eth-rpc URL --anchor ADDRESS it then asks that Ethereum endpoint
(the only thing it contacts) whether the bundle's height is a checkpoint
the chain's CheckpointAnchor contract anchored, with the bundle's app hash:
the contract's chain id hash, its CheckpointAnchored event of that height,
and the app hash it stores for that epoch. Build the bundle at an anchored
height for this (--height; jinlian checkpoint status lists the anchor's
latest). A height not anchored, or anchored with another app hash, fails.

Exit status 0 only when every step passes.`

func newVerifyProofCmd(g *globals) *cobra.Command {
	var tf trustFlags
	var anchor proof.Anchor
	cmd := &cobra.Command{
		Use:   "proof BUNDLE [--eth-rpc URL --anchor ADDRESS]",
		Short: "Check a proof bundle offline: header chain, SM2 quorum certificate, state or transaction proof",
		Long:  verifyProofLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			trust, err := tf.load()
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			b, err := proof.Decode(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if (anchor.RPC == "") != (anchor.Address == "") {
				return fmt.Errorf("--eth-rpc and --anchor go together: the Ethereum endpoint and the CheckpointAnchor contract on it")
			}
			rep, verr := proof.Verify(b, trust)
			var anchored *proof.AnchorReport
			if verr == nil && anchor.RPC != "" {
				a, err := proof.CheckAnchor(cmd.Context(), anchor, rep)
				anchored, verr = &a, err
			}
			if err := emit(cmd.OutOrStdout(), g, map[string]any{"report": rep, "anchor": anchored, "valid": verr == nil, "error": errString(verr)}, func(w io.Writer) {
				printReport(w, rep, anchored, verr)
			}); err != nil {
				return err
			}
			return verr
		},
	}
	tf.add(cmd)
	cmd.Flags().StringVar(&anchor.RPC, "eth-rpc", "", "Ethereum JSON-RPC endpoint: also check that the bundle's height is an anchored checkpoint with its app hash (with --anchor)")
	cmd.Flags().StringVar(&anchor.Address, "anchor", "", "address of the chain's CheckpointAnchor contract on --eth-rpc")
	cmd.Flags().Uint64Var(&anchor.FromBlock, "eth-from-block", 0, "first Ethereum block to search for the checkpoint (the contract's deployment block, for providers that limit log ranges)")
	return cmd
}

func printReport(w io.Writer, rep proof.Report, anchored *proof.AnchorReport, verr error) {
	fmt.Fprintf(w, "%s bundle of chain %s, height %d, app hash %s\n", rep.Kind, rep.ChainID, rep.Height, rep.AppHash)
	if rep.Headers {
		fmt.Fprintf(w, "headers: verified from the trusted point to block %d (CometBFT light-client rules)\n", rep.Header)
	}
	if c := rep.Certificate; c.Quorum {
		fmt.Fprintf(w, "certificate: %d SM2 signatures, power %d of %d\n", len(c.Signers), c.SignedPower, c.TotalPower)
	}
	for _, e := range rep.Entries {
		if e.Found {
			fmt.Fprintf(w, "proven: %s key %s = %s\n", e.Ledger, e.Key, e.Value)
		} else {
			fmt.Fprintf(w, "proven: %s key %s is not set\n", e.Ledger, e.Key)
		}
	}
	if t := rep.Tx; t != nil {
		fmt.Fprintf(w, "proven: tx %s is transaction %d of block %d with code %d (CometBFT commitments: %t, SM3 results commitment: %t)\n", t.ID, t.Index, rep.Height, t.Code, t.CometBFT, t.SM3)
	}
	if c := rep.Completeness; c != nil {
		fmt.Fprintf(w, "proven: the %d movements listed are every movement of %s %s on %s at heights %d..%d (balance %d before, %d after)\n",
			c.Count, c.Account, c.Asset, c.Ledger, c.FromHeight, c.ToHeight, c.BalanceBefore, c.BalanceAfter)
	}
	if a := anchored; a != nil && a.EthTx != "" {
		fmt.Fprintf(w, "anchored: checkpoint %d (height %d, app hash %s) by contract %s, Ethereum block %d, transaction %s\n",
			a.Epoch, a.Height, a.AppHash, a.Contract, a.EthBlock, a.EthTx)
	}
	if verr == nil {
		fmt.Fprintln(w, "OK")
	} else {
		fmt.Fprintf(w, "FAILED: %v\n", verr)
	}
}

// trustFlags are a verifier's trusted point.
type trustFlags struct {
	genesis string
	height  int64
	hash    string
	guomi   bool
}

func (t *trustFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.genesis, "trust", "", "the chain's genesis file, trusted")
	cmd.Flags().Int64Var(&t.height, "trust-height", 0, "height of a trusted block (with --trust-hash)")
	cmd.Flags().StringVar(&t.hash, "trust-hash", "", "hash (hex) of the trusted block at --trust-height")
	cmd.Flags().BoolVar(&t.guomi, "guomi", false, "SM2/SM3 only: check the quorum certificate against the genesis's SM2 node keys, no CometBFT header (needs --trust)")
}

func (t *trustFlags) load() (proof.Trust, error) {
	var genesis func() ([]byte, error)
	if t.genesis != "" {
		genesis = func() ([]byte, error) { return os.ReadFile(t.genesis) }
	}
	tr, err := proof.ParseTrust(genesis, t.height, t.hash, t.guomi)
	if err != nil {
		return tr, fmt.Errorf("--trust, --trust-height, --trust-hash, --guomi: %w", err)
	}
	return tr, nil
}
