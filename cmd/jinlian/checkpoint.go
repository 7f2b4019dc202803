package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/node"
)

func newCheckpointCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Zero-knowledge checkpoints anchored on Ethereum (docs/checkpoints.md)",
		Long: `A validator's checkpoint key is jinlian's (register, encrypt-key). Proving
and Ethereum are jinlian-anchor's, which links gnark and go-ethereum: the
other commands run "jinlian-anchor checkpoint ..." with the same arguments
(jinlian-anchor next to this executable, on PATH, or $JINLIAN_ANCHOR).`,
	}
	cmd.AddCommand(newCheckpointRegisterCmd(g), newCheckpointEncryptKeyCmd(g))
	for _, c := range []struct{ name, short string }{
		{"show", "A proven checkpoint from this node's store: fields, hash, proof, anchoring"},
		{"status", "Latest proven checkpoint here and, with --eth-rpc/--anchor, the anchor's latest"},
		{"verify", "Check a checkpoint's proof, its chain to the previous one and, with --eth-rpc/--anchor, what Ethereum anchored"},
		{"submit", "Relay every proven checkpoint the anchor lacks (idempotent; reports gas)"},
		{"deploy", "Deploy the Verifier and a CheckpointAnchor trusting epoch 0 of this node's chain; print the anchor's address"},
		{"ceremony", "Groth16 MPC setup of the checkpoint circuit's keys (init, contribute, verify, seal)"},
	} {
		cmd.AddCommand(anchorCommand(c.name, c.short+" (jinlian-anchor)"))
	}
	return cmd
}

// anchorCommand is `jinlian checkpoint name ...`, which runs
// `jinlian-anchor checkpoint name ...` with the same arguments, its
// input and output the command's.
func anchorCommand(name, short string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Short:              short,
		DisableFlagParsing: true, // every flag is jinlian-anchor's, --help too
		RunE: func(cmd *cobra.Command, args []string) error {
			bin, err := node.FindAnchorCommand()
			if err != nil {
				return fmt.Errorf("jinlian checkpoint %s runs %s checkpoint %s, and %w", name, node.AnchorCommand, name, err)
			}
			c := exec.CommandContext(cmd.Context(), bin, append([]string{"checkpoint", name}, args...)...)
			c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			err = c.Run()
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				return exitCode(ee.ExitCode()) // jinlian-anchor said why
			}
			return err
		},
	}
}

// exitCode ends jinlian with this status and no message of its own.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exit is main's: a command's error, printed, and its exit status.
func exit(err error) {
	if code := exitCode(0); errors.As(err, &code) {
		os.Exit(int(code))
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	os.Exit(1)
}
