package main

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/ledger"
	"github.com/jinlian-ledger/jinlian/node"
)

func newCheckDataCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check-data",
		Short: "Verify the stopped node's ledger data: table and value-log checksums, every sub-ledger's root against its commit record",
		Long: `check-data reads the whole ledger of the node in --home (the node must be
stopped): every Badger table block against its checksum and every value
in Badger's value log against its own, then every sub-ledger's tree at
the last committed height, node by node, rehashed up to its root and
compared with the commit record, then the flat index of
the latest state against the trees, key by key. It streams: its memory
does not grow with the state. It prints one line per sub-ledger and one
for the flat index, and exits 1 on damage; see docs/operations.md, "Disk
damage".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := node.LedgerDir(g.home)
			r, err := ledger.CheckData(dir)
			if err != nil {
				return err
			}
			out := checkDataJSON{Dir: dir, Height: r.Height, AppHash: hex.EncodeToString(r.AppHash), Tables: "ok", Flat: r.Flat, FlatKeys: r.FlatKeys, OK: r.OK()}
			if r.Tables != "" {
				out.Tables = r.Tables
			}
			for _, l := range r.Ledgers {
				state := "ok"
				if l.Problem != "" {
					state = l.Problem
				}
				out.Ledgers = append(out.Ledgers, checkDataLedger{Name: l.Name, Keys: l.Keys, Root: hex.EncodeToString(l.Root), State: state})
			}
			if err := emit(cmd.OutOrStdout(), g, out, func(w io.Writer) {
				fmt.Fprintf(w, "ledger data %s, height %d, app hash %X\n", dir, r.Height, r.AppHash)
				fmt.Fprintf(w, "tables: %s\n", out.Tables)
				for _, l := range out.Ledgers {
					fmt.Fprintf(w, "%s (%d keys): %s\n", l.Name, l.Keys, l.State)
				}
				fmt.Fprintf(w, "flat index (%d records): %s\n", out.FlatKeys, out.Flat)
			}); err != nil {
				return err
			}
			return r.Err(dir)
		},
	}
}

type checkDataLedger struct {
	Name  string `json:"name"`
	Keys  int    `json:"keys"`
	Root  string `json:"root"`
	State string `json:"state"`
}

type checkDataJSON struct {
	Dir     string            `json:"dir"`
	Height  int64             `json:"height"`
	AppHash string            `json:"app_hash"`
	Tables  string            `json:"tables"`
	Ledgers []checkDataLedger `json:"ledgers"`
	// Flat is the flat index of the latest state: ok, none (rebuilt at
	// the next start) or its first difference from the trees.
	Flat     string `json:"flat_index"`
	FlatKeys int    `json:"flat_index_records"`
	OK       bool   `json:"ok"`
}
