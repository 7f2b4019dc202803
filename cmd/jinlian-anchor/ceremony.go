package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/consensus/prover"
)

// newCeremonyCmd is `jinlian checkpoint ceremony`: the production setup of
// the checkpoint circuit's keys, run by the member banks in turn.
func newCeremonyCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "ceremony",
		Short: "Groth16 MPC setup of the checkpoint circuit's keys (init, contribute, verify, seal)",
		Long: `The production setup of the checkpoint proving keys: gnark's Groth16 MPC
ceremony. The coordinator runs init; the directory (--dir) then travels from
bank to bank, each running contribute; the coordinator verifies, seals phase 1
with a public random beacon announced after its last contribution, the banks
contribute to phase 2, and the coordinator seals it with a second beacon,
which writes the keys (use them with jinlian start --checkpoint.keys, and
export the verifier with contracts/ethereum/gen.sh --keys). The keys are safe
if one contributor's randomness was destroyed; verify re-checks the whole
transcript, so anyone can audit it.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "ceremony", "ceremony directory (transcript and contributions)")
	open := func() (*prover.Ceremony, error) { return prover.OpenCeremony(dir) }
	var slots int
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Start a ceremony for the circuit with --slots validator slots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := prover.InitCeremony(dir, slots)
			if err != nil {
				return err
			}
			return emitCeremony(cmd.OutOrStdout(), g, c, fmt.Sprintf("started a ceremony for %s in %s", c.State.CircuitID, dir))
		},
	}
	initCmd.Flags().IntVar(&slots, "slots", prover.DevSlots, "validator slots of the circuit (the most validators a checkpoint can hold)")
	var name string
	contribute := &cobra.Command{
		Use:   "contribute",
		Short: "Add this bank's contribution to the current phase (fresh randomness, discarded afterwards)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := open()
			if err != nil {
				return err
			}
			ct, err := c.Contribute(name)
			if err != nil {
				return err
			}
			return emitCeremony(cmd.OutOrStdout(), g, c, fmt.Sprintf("contribution of %s written to %s (SM3 %s)", ct.Name, ct.File, ct.SM3))
		},
	}
	contribute.Flags().StringVar(&name, "name", "", "contributor, as the transcript records it (e.g. bankA)")
	_ = contribute.MarkFlagRequired("name")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every contribution so far against its predecessor and the transcript's SM3 digests",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := open()
			if err != nil {
				return err
			}
			if err := c.Verify(); err != nil {
				return err
			}
			return emitCeremony(cmd.OutOrStdout(), g, c, fmt.Sprintf("transcript verifies: %d phase 1 and %d phase 2 contributions", len(c.State.Phase1), len(c.State.Phase2)))
		},
	}
	var beacon, keys string
	seal := &cobra.Command{
		Use:   "seal",
		Short: "Close the current phase with a public random beacon (hex); sealing phase 2 writes the keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := hex.DecodeString(strings.TrimPrefix(beacon, "0x"))
			if err != nil {
				return fmt.Errorf("--beacon: not hex: %w", err)
			}
			c, err := open()
			if err != nil {
				return err
			}
			phase := c.State.Phase
			info, err := c.Seal(b, keys)
			if err != nil {
				return err
			}
			msg := "phase 1 sealed; phase 2 contributions may start"
			if phase == 2 {
				msg = fmt.Sprintf("phase 2 sealed; keys for %s written to %s (%s)", info.CircuitID, keys, info.Setup)
			}
			return emitCeremony(cmd.OutOrStdout(), g, c, msg)
		},
	}
	seal.Flags().StringVar(&beacon, "beacon", "", fmt.Sprintf("public random value announced after the phase's last contribution, hex (at least %d bytes; e.g. a drand round)", prover.MinBeaconBytes))
	seal.Flags().StringVar(&keys, "keys", "", "where sealing phase 2 writes the keys (required then)")
	_ = seal.MarkFlagRequired("beacon")
	seal.PreRunE = func(*cobra.Command, []string) error {
		if c, err := open(); err == nil && c.State.Phase == 2 && keys == "" {
			return errors.New("--keys DIR: sealing phase 2 writes the proving and verifying keys")
		}
		return nil
	}
	cmd.AddCommand(initCmd, contribute, verify, seal)
	return cmd
}

func emitCeremony(w io.Writer, g *globals, c *prover.Ceremony, msg string) error {
	return emit(w, g, c.State, func(w io.Writer) {
		fmt.Fprintln(w, msg)
		fmt.Fprintf(w, "circuit %s, %d constraints, domain %d; phase %d; %d phase 1 and %d phase 2 contributions\n",
			c.State.CircuitID, c.State.Constraints, c.State.Domain, c.State.Phase, len(c.State.Phase1), len(c.State.Phase2))
	})
}
