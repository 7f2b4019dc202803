package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/checkpoint"
	"github.com/jinlian-ledger/jinlian/consensus/prover"
	"github.com/jinlian-ledger/jinlian/consensus/prover/relay"
	"github.com/jinlian-ledger/jinlian/node/anchoring"
	"github.com/jinlian-ledger/jinlian/nodecfg"
)

// checkpointFlags are shared by the checkpoint commands.
type checkpointFlags struct {
	store  string // default <home>/data/checkpoints
	keys   string // verifying keys; default: the development keys' cache
	slots  int
	ethRPC string
	ethKey string
	anchor string
}

func (f *checkpointFlags) register(cmd *cobra.Command, eth bool) {
	cmd.Flags().StringVar(&f.store, "store", "", "checkpoint store (default <home>/data/checkpoints)")
	cmd.Flags().StringVar(&f.keys, "keys", "", "directory of the circuit's keys (default: the INSECURE development keys' cache)")
	cmd.Flags().IntVar(&f.slots, "slots", prover.DevSlots, "validator slots of the circuit")
	if eth {
		cmd.Flags().StringVar(&f.ethRPC, "eth-rpc", "", "Ethereum JSON-RPC endpoint of the anchor")
		cmd.Flags().StringVar(&f.anchor, "anchor", "", "CheckpointAnchor contract address")
	}
}

// loadRecord reads the proven checkpoint of epoch from this node's store.
func (f *checkpointFlags) loadRecord(g *globals, epoch uint64) (prover.Record, error) {
	s, err := f.openStore(g)
	if err != nil {
		return prover.Record{}, err
	}
	rec, ok, err := s.Load(epoch)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, fmt.Errorf("no proven checkpoint %d in this node's store", epoch)
	}
	return rec, nil
}

func (f *checkpointFlags) openStore(g *globals) (*prover.Store, error) {
	dir := f.store
	if dir == "" {
		dir = prover.StoreDir(g.home)
	}
	return prover.OpenStore(dir)
}

// anchorDefaults fills --eth-rpc and --anchor from the anchor.json a
// localnet's node writes, when they are not given.
func (f *checkpointFlags) anchorDefaults(g *globals) {
	if f.ethRPC != "" && f.anchor != "" {
		return
	}
	info, ok := nodecfg.ReadAnchorInfo(g.home)
	if !ok {
		return
	}
	if f.ethRPC == "" {
		f.ethRPC = info.RPC
	}
	if f.anchor == "" {
		f.anchor = info.Contract
	}
}

func (f *checkpointFlags) relayer(ctx context.Context, withKey bool) (*relay.Relayer, func(), error) {
	if f.ethRPC == "" || f.anchor == "" {
		return nil, nil, errors.New("--eth-rpc and --anchor name the anchor contract")
	}
	if !common.IsHexAddress(f.anchor) {
		return nil, nil, fmt.Errorf("--anchor %q is not an address", f.anchor)
	}
	c, err := ethclient.DialContext(ctx, f.ethRPC)
	if err != nil {
		return nil, nil, fmt.Errorf("--eth-rpc %s: %w", f.ethRPC, err)
	}
	auth := &bind.TransactOpts{}
	if withKey {
		if auth, err = relay.KeyedTransactor(ctx, c, f.ethKey); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	r, err := relay.New(c, common.HexToAddress(f.anchor), auth, relay.Config{})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return r, c.Close, nil
}

func newCheckpointCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Zero-knowledge checkpoints anchored on Ethereum (docs/checkpoints.md)",
	}
	// register and encrypt-key need neither gnark nor go-ethereum: they
	// are jinlian's own.
	cmd.AddCommand(newCheckpointShowCmd(g), newCheckpointStatusCmd(g), newCheckpointVerifyCmd(g), newCheckpointSubmitCmd(g),
		newCheckpointDeployCmd(g), newCeremonyCmd(g))
	return cmd
}

func newCheckpointShowCmd(g *globals) *cobra.Command {
	var f checkpointFlags
	var epoch uint64
	cmd := &cobra.Command{
		Use:   "show",
		Short: "A proven checkpoint from this node's store: fields, hash, proof, anchoring",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rec, err := f.loadRecord(g, epoch)
			if err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, rec, func(w io.Writer) { printRecord(w, rec) })
		},
	}
	f.register(cmd, false)
	cmd.Flags().Uint64Var(&epoch, "epoch", 0, "checkpoint epoch")
	_ = cmd.MarkFlagRequired("epoch")
	return cmd
}

func printRecord(w io.Writer, rec prover.Record) {
	cp := rec.Checkpoint
	fmt.Fprintf(w, "epoch:              %d\nchain:              %s\nheight:             %d\n", cp.Epoch, cp.ChainID, cp.Height)
	fmt.Fprintf(w, "app hash:           %s\nprev hash:          %s\n", cp.AppHash, cp.PrevHash)
	fmt.Fprintf(w, "validator set:      %s\nnext validator set: %s\n", cp.ValidatorSet, cp.NextValidatorSet)
	fmt.Fprintf(w, "checkpoint hash:    %s (SM3)\ndigest:             %s\n", rec.Hash, rec.Digest)
	fmt.Fprintf(w, "signers:            %d of %d\ncircuit:            %s\n", rec.Signers, rec.Validators, rec.CircuitID)
	fmt.Fprintf(w, "proved:             %s in %d ms\nproof:              %x\n", rec.ProvedAt.Format(time.RFC3339), rec.ProveMillis, []byte(rec.Proof))
	if a := rec.Anchor; a != nil {
		fmt.Fprintf(w, "anchored:           contract %s, tx %s, block %d, %d gas\n", a.Contract, a.TxHash, a.Block, a.GasUsed)
	} else {
		fmt.Fprintln(w, "anchored:           not yet")
	}
}

// checkpointStatus is `jinlian checkpoint status`.
type checkpointStatus struct {
	LatestProven   uint64        `json:"latest_proven"`
	LatestAnchored uint64        `json:"latest_anchored_here"`
	Anchor         *relay.Status `json:"anchor,omitempty"`
}

func newCheckpointStatusCmd(g *globals) *cobra.Command {
	var f checkpointFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Latest proven checkpoint here and, with --eth-rpc/--anchor, the anchor's latest",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.openStore(g)
			if err != nil {
				return err
			}
			epochs, err := s.Epochs()
			if err != nil {
				return err
			}
			var st checkpointStatus
			for _, e := range epochs {
				rec, ok, err := s.Load(e)
				if err != nil || !ok {
					continue
				}
				st.LatestProven = e
				if rec.Anchor != nil {
					st.LatestAnchored = e
				}
			}
			f.anchorDefaults(g)
			if f.ethRPC != "" {
				r, closeFn, err := f.relayer(cmd.Context(), false)
				if err != nil {
					return err
				}
				defer closeFn()
				a, err := r.Status(cmd.Context())
				if err != nil {
					return err
				}
				st.Anchor = &a
			}
			return emit(cmd.OutOrStdout(), g, st, func(w io.Writer) {
				fmt.Fprintf(w, "latest proven epoch:   %d\nlatest anchored here:  %d\n", st.LatestProven, st.LatestAnchored)
				if a := st.Anchor; a != nil {
					fmt.Fprintf(w, "anchor %s: epoch %d, height %d, app hash %s, checkpoint %s\n", a.Address, a.Epoch, a.Height, a.AppHash, a.CheckpointHash)
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

// checkpointVerdict is `jinlian checkpoint verify`.
type checkpointVerdict struct {
	Epoch      uint64 `json:"epoch"`
	ProofValid bool   `json:"proof_valid"`
	Chained    *bool  `json:"chained_to_previous,omitempty"`
	// Anchor is "match", "mismatch" or "not anchored" with --eth-rpc.
	Anchor string `json:"anchor,omitempty"`
}

func newCheckpointVerifyCmd(g *globals) *cobra.Command {
	var f checkpointFlags
	var epoch uint64
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a checkpoint's proof, its chain to the previous one and, with --eth-rpc/--anchor, what Ethereum anchored",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rec, err := f.loadRecord(g, epoch)
			if err != nil {
				return err
			}
			p, err := prover.NewEdDSAGroth16(f.slots)
			if err != nil {
				return err
			}
			keys := f.keys
			if keys == "" {
				keys = prover.DevKeysDir()
			}
			info, err := p.Setup(keys, f.keys == "")
			if err != nil {
				return err
			}
			if info.CircuitID != rec.CircuitID {
				return fmt.Errorf("checkpoint %d was proved with %s, the keys are for %s", epoch, rec.CircuitID, info.CircuitID)
			}
			v := checkpointVerdict{Epoch: epoch}
			verr := p.Verify(rec.Checkpoint, prover.Proof(rec.Proof))
			v.ProofValid = verr == nil
			if prev, err := f.loadRecord(g, epoch-1); err == nil && epoch > 0 {
				chained := rec.Checkpoint.Follows(prev.Checkpoint) == nil
				v.Chained = &chained
			}
			f.anchorDefaults(g)
			if f.ethRPC != "" {
				r, closeFn, err := f.relayer(cmd.Context(), false)
				if err != nil {
					return err
				}
				defer closeFn()
				app, h, err := r.Anchored(cmd.Context(), epoch)
				if err != nil {
					return err
				}
				switch {
				case h.IsZero():
					v.Anchor = "not anchored"
				case h == rec.Hash && app == rec.Checkpoint.AppHash:
					v.Anchor = "match"
				default:
					v.Anchor = "mismatch"
				}
			}
			err = emit(cmd.OutOrStdout(), g, v, func(w io.Writer) {
				fmt.Fprintf(w, "epoch %d: proof %s", epoch, map[bool]string{true: "valid", false: "INVALID"}[v.ProofValid])
				if v.Chained != nil {
					fmt.Fprintf(w, ", chained to %d: %v", epoch-1, *v.Chained)
				}
				if v.Anchor != "" {
					fmt.Fprintf(w, ", anchor: %s", v.Anchor)
				}
				fmt.Fprintln(w)
			})
			if err == nil && (!v.ProofValid || (v.Chained != nil && !*v.Chained) || v.Anchor == "mismatch") {
				err = fmt.Errorf("checkpoint %d does not verify: %v", epoch, verr)
			}
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().Uint64Var(&epoch, "epoch", 0, "checkpoint epoch")
	_ = cmd.MarkFlagRequired("epoch")
	return cmd
}

func newCheckpointSubmitCmd(g *globals) *cobra.Command {
	var f checkpointFlags
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Relay every proven checkpoint the anchor lacks (idempotent; reports gas)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.openStore(g)
			if err != nil {
				return err
			}
			f.anchorDefaults(g)
			r, closeFn, err := f.relayer(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := r.SyncStore(cmd.Context(), s)
			if eerr := emit(cmd.OutOrStdout(), g, res, func(w io.Writer) {
				for _, x := range res {
					if x.Skipped {
						fmt.Fprintf(w, "epoch %d: already anchored\n", x.Epoch)
						continue
					}
					fmt.Fprintf(w, "epoch %d: anchored in block %d, tx %s, %d gas\n", x.Epoch, x.Block, x.TxHash.Hex(), x.GasUsed)
				}
				if len(res) == 0 {
					fmt.Fprintln(w, "nothing to submit")
				}
			}); err == nil {
				err = eerr
			}
			return err
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&f.ethKey, "eth-key", "", "file with the hex secp256k1 key that pays for submissions")
	return cmd
}

// checkpointDeployed is `jinlian checkpoint deploy`.
type checkpointDeployed struct {
	Anchor         string            `json:"anchor"`
	RPC            string            `json:"rpc"`
	ChainID        string            `json:"chain_id"`
	CheckpointHash checkpoint.Hash32 `json:"checkpoint_hash"`
	ValidatorSet   checkpoint.Hash32 `json:"validator_set"`
	AnchorFile     string            `json:"anchor_file"`
}

func newCheckpointDeployCmd(g *globals) *cobra.Command {
	var f checkpointFlags
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy the Verifier and a CheckpointAnchor trusting epoch 0 of this node's chain; print the anchor's address",
		Long: `Computes epoch 0 of the chain from the node's genesis (--home; the node need
not run), deploys the Groth16 Verifier and a CheckpointAnchor that trusts it
on the Ethereum chain at --eth-rpc, paid by --eth-key, and records the anchor
in <home>/data/checkpoints/anchor.json, where jinlian-anchor run (which
jinlian start --checkpoint.prover runs) and the other checkpoint commands
find it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.ethRPC == "" {
				return errors.New("--eth-rpc URL names the Ethereum endpoint")
			}
			ctx := cmd.Context()
			c, err := ethclient.DialContext(ctx, f.ethRPC)
			if err != nil {
				return fmt.Errorf("--eth-rpc %s: %w", f.ethRPC, err)
			}
			defer c.Close()
			auth, err := relay.KeyedTransactor(ctx, c, f.ethKey)
			if err != nil {
				return err
			}
			addr, g0, err := anchoring.DeployAnchor(ctx, c, auth, g.home, f.ethRPC)
			if err != nil {
				return err
			}
			out := checkpointDeployed{Anchor: addr.Hex(), RPC: f.ethRPC, ChainID: g0.ChainID, CheckpointHash: g0.Hash(),
				ValidatorSet: g0.ValidatorSet, AnchorFile: nodecfg.AnchorInfoFile(g.home)}
			return emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "anchor:          %s\nchain:           %s\nepoch 0:         %s\nvalidator set:   %s\nrecorded in:     %s\n",
					out.Anchor, out.ChainID, out.CheckpointHash, out.ValidatorSet, out.AnchorFile)
			})
		},
	}
	cmd.Flags().StringVar(&f.ethRPC, "eth-rpc", "", "Ethereum JSON-RPC endpoint")
	cmd.Flags().StringVar(&f.ethKey, "eth-key", "", "file with the hex secp256k1 key that pays for the deployment")
	_ = cmd.MarkFlagRequired("eth-key")
	return cmd
}
