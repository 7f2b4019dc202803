package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/cometbft/cometbft/p2p"
	"github.com/spf13/cobra"

	"github.com/jinlian-ledger/jinlian/app"
	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/node"
	"github.com/jinlian-ledger/jinlian/permission"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
	"github.com/jinlian-ledger/jinlian/wire"
)

// systemTxCmd makes a command that signs a system-channel message.
func systemTxCmd(g *globals, use, short string, args cobra.PositionalArgs, build func(args []string) (*txpb.Message, error), flags func(*cobra.Command)) *cobra.Command {
	f := &txFlags{}
	c := &cobra.Command{
		Use: use, Short: short, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			msg, err := build(args)
			if err != nil {
				return err
			}
			f.ledger = permission.SystemLedger
			return sendTx(cmd, g, f, msg)
		},
	}
	c.Flags().StringVar(&f.from, "from", "", "signing key (name or key file)")
	c.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for commit")
	_ = c.MarkFlagRequired("from")
	f.pass.add(c)
	f.addSigning(c)
	if flags != nil {
		flags(c)
	}
	return c
}

func proposeCmd(g *globals, use, short string, title *string, action func() (*txpb.Propose, error), flags func(*cobra.Command)) *cobra.Command {
	return systemTxCmd(g, use, short, cobra.NoArgs, func([]string) (*txpb.Message, error) {
		p, err := action()
		if err != nil {
			return nil, err
		}
		p.Title = *title
		return &txpb.Message{Body: &txpb.Message_Propose{Propose: p}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(title, "title", "", "proposal title")
		flags(c)
	})
}

func parseAddr(flag, s string) ([]byte, error) {
	a, err := gmcrypto.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return a.Bytes(), nil
}

func newGovCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "gov", Short: "Governance: proposals and votes of the consortium committee"}
	propose := &cobra.Command{Use: "propose", Short: "Open a proposal (committee; regulators too for holds); the proposer's organisation votes yes"}
	var title string

	var orgID, orgName, rootCA string
	propose.AddCommand(proposeCmd(g, "add-organisation", "Admit an organisation with its root CA", &title, func() (*txpb.Propose, error) {
		pem, err := os.ReadFile(rootCA)
		if err != nil {
			return nil, fmt.Errorf("--root-ca: %w", err)
		}
		return &txpb.Propose{Action: &txpb.Propose_AddOrganisation{AddOrganisation: &txpb.AddOrganisation{Id: orgID, Name: orgName, RootCa: string(pem)}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&orgID, "id", "", "organisation id")
		c.Flags().StringVar(&orgName, "name", "", "display name")
		c.Flags().StringVar(&rootCA, "root-ca", "", "root CA certificate PEM file (jinlian ca init)")
	}))
	var rmOrg string
	propose.AddCommand(proposeCmd(g, "remove-organisation", "Remove an organisation (its validators first)", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_RemoveOrganisation{RemoveOrganisation: &txpb.RemoveOrganisation{Id: rmOrg}}}, nil
	}, func(c *cobra.Command) { c.Flags().StringVar(&rmOrg, "id", "", "organisation id") }))

	var valHome, valOrg, valName string
	var valPower int64
	propose.AddCommand(proposeCmd(g, "set-validator", "Add a validator, change its power, or remove it (--power 0); effective at H+2", &title, func() (*txpb.Propose, error) {
		sv, err := validatorFromHome(valHome)
		if err != nil {
			return nil, err
		}
		sv.Org, sv.Name, sv.Power = valOrg, valName, valPower
		return &txpb.Propose{Action: &txpb.Propose_SetValidator{SetValidator: sv}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&valHome, "validator-home", "", "the validator's home (reads its consensus key, node id and SM2 node key)")
		c.Flags().StringVar(&valOrg, "org", "", "operating organisation")
		c.Flags().StringVar(&valName, "name", "", "validator name")
		c.Flags().Int64Var(&valPower, "power", 10, "voting power (0 removes)")
		_ = c.MarkFlagRequired("validator-home")
	}))

	var nodeID, nodeOrg, nodeKind string
	propose.AddCommand(proposeCmd(g, "set-node", "Admit a node id (observer or validator) through the peer filter", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_SetNode{SetNode: &txpb.SetNode{NodeId: nodeID, Org: nodeOrg, Kind: nodeKind}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&nodeID, "node-id", "", "p2p node id (40 hex digits)")
		c.Flags().StringVar(&nodeOrg, "org", "", "operating organisation")
		c.Flags().StringVar(&nodeKind, "kind", "observer", "observer or validator")
	}))
	var rmNode string
	propose.AddCommand(proposeCmd(g, "remove-node", "Revoke a node's admission; it is disconnected within a block", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_RemoveNode{RemoveNode: &txpb.RemoveNode{NodeId: rmNode}}}, nil
	}, func(c *cobra.Command) { c.Flags().StringVar(&rmNode, "node-id", "", "p2p node id") }))

	var ledgerName string
	var members []string
	propose.AddCommand(proposeCmd(g, "create-ledger", "Create a sub-ledger with its member organisations", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_CreateLedger{CreateLedger: &txpb.CreateLedger{Name: ledgerName, MemberOrgs: members}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&ledgerName, "name", "", "sub-ledger name")
		c.Flags().StringSliceVar(&members, "members", nil, "member organisations, comma-separated")
	}))

	var roleAddr, roleOrg, role string
	propose.AddCommand(proposeCmd(g, "grant-role", "Grant a role (committee, regulator, auditor (every sub-ledger), auditor:<ledger>, issuer:<ledger>/<asset>, member:<ledger>, ...)", &title, func() (*txpb.Propose, error) {
		a, err := parseAddr("address", roleAddr)
		if err != nil {
			return nil, err
		}
		if err := permission.ValidateRole(role); err != nil {
			return nil, err
		}
		return &txpb.Propose{Action: &txpb.Propose_GrantRole{GrantRole: &txpb.GrantRole{Address: a, Org: roleOrg, Role: role}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&roleAddr, "address", "", "identity address")
		c.Flags().StringVar(&roleOrg, "org", "", "the identity's organisation (registers it if new)")
		c.Flags().StringVar(&role, "role", "", "role to grant")
	}))
	var rvAddr, rvRole string
	propose.AddCommand(proposeCmd(g, "revoke-role", "Revoke a role", &title, func() (*txpb.Propose, error) {
		a, err := parseAddr("address", rvAddr)
		if err != nil {
			return nil, err
		}
		return &txpb.Propose{Action: &txpb.Propose_RevokeRole{RevokeRole: &txpb.RevokeRole{Address: a, Role: rvRole}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&rvAddr, "address", "", "identity address")
		c.Flags().StringVar(&rvRole, "role", "", "role to revoke")
	}))
	var riAddr, riOrg, riName string
	var riRoles []string
	propose.AddCommand(proposeCmd(g, "reassign-identity", "Bind an address to an organisation with roles, replacing its registration (corrects a wrong claim)", &title, func() (*txpb.Propose, error) {
		a, err := parseAddr("address", riAddr)
		if err != nil {
			return nil, err
		}
		for _, r := range riRoles {
			if err := permission.ValidateRole(r); err != nil {
				return nil, err
			}
		}
		return &txpb.Propose{Action: &txpb.Propose_ReassignIdentity{ReassignIdentity: &txpb.ReassignIdentity{Address: a, Org: riOrg, Roles: riRoles, Name: riName}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&riAddr, "address", "", "identity address")
		c.Flags().StringVar(&riOrg, "org", "", "the organisation the address belongs to")
		c.Flags().StringSliceVar(&riRoles, "roles", []string{"member"}, "its roles, comma-separated")
		c.Flags().StringVar(&riName, "name", "", "name")
	}))
	var rmAddr string
	propose.AddCommand(proposeCmd(g, "remove-identity", "Delete an identity's registration", &title, func() (*txpb.Propose, error) {
		a, err := parseAddr("address", rmAddr)
		if err != nil {
			return nil, err
		}
		return &txpb.Propose{Action: &txpb.Propose_RemoveIdentity{RemoveIdentity: &txpb.RemoveIdentity{Address: a}}}, nil
	}, func(c *cobra.Command) { c.Flags().StringVar(&rmAddr, "address", "", "identity address") }))
	var rcOrg, rcSerial, rcReason string
	propose.AddCommand(proposeCmd(g, "revoke-certificate", "Revoke a certificate of any organisation", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_RevokeCertificate{RevokeCertificate: &txpb.RevokeCertificateAction{Org: rcOrg, Serial: rcSerial, Reason: rcReason}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&rcOrg, "org", "", "organisation")
		c.Flags().StringVar(&rcSerial, "serial", "", "certificate serial (hex)")
		c.Flags().StringVar(&rcReason, "reason", "", "reason")
	}))
	var hLedger, hAsset, hAccount, hReason string
	var hExpiry int64
	propose.AddCommand(proposeCmd(g, "place-hold", "Freeze an account (hold_approvals), an asset or a sub-ledger (hold_wide_threshold); the regulator alone suffices", &title, func() (*txpb.Propose, error) {
		ph := &txpb.PlaceHold{Ledger: hLedger, Asset: hAsset, Reason: hReason, ExpiryHeight: hExpiry}
		if hAccount != "" {
			a, err := parseAddr("account", hAccount)
			if err != nil {
				return nil, err
			}
			ph.Account = a
		}
		return &txpb.Propose{Action: &txpb.Propose_PlaceHold{PlaceHold: ph}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&hLedger, "ledger", "payments", "sub-ledger")
		c.Flags().StringVar(&hAsset, "asset", "", "asset (empty: every asset)")
		c.Flags().StringVar(&hAccount, "account", "", "account (empty: every account)")
		c.Flags().StringVar(&hReason, "reason", "", "reason, recorded with the hold")
		c.Flags().Int64Var(&hExpiry, "expiry-height", 0, "height at which the hold lifts by itself (0: after params.hold_max_blocks)")
		_ = c.MarkFlagRequired("reason")
	}))
	var lmLedger, lmOrg string
	var lmRemove bool
	propose.AddCommand(proposeCmd(g, "set-ledger-member", "Add an organisation to a sub-ledger's members (--remove: take it out)", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_SetLedgerMember{SetLedgerMember: &txpb.SetLedgerMember{Ledger: lmLedger, Org: lmOrg, Remove: lmRemove}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&lmLedger, "ledger", "payments", "sub-ledger")
		c.Flags().StringVar(&lmOrg, "org", "", "organisation")
		c.Flags().BoolVar(&lmRemove, "remove", false, "take the organisation out of the sub-ledger's members")
		_ = c.MarkFlagRequired("org")
	}))
	var ca txpb.CreateAsset
	var caHash string
	propose.AddCommand(proposeCmd(g, "create-asset", "Create an asset on a sub-ledger: issuer organisation, decimals, optional supply cap, redeemable or not (docs/assets.md)", &title, func() (*txpb.Propose, error) {
		a := &txpb.CreateAsset{Ledger: ca.Ledger, Symbol: ca.Symbol, Issuer: ca.Issuer, Decimals: ca.Decimals, SupplyCap: ca.SupplyCap, Redeemable: ca.Redeemable}
		if caHash != "" {
			h, err := hex.DecodeString(caHash)
			if err != nil || len(h) != 32 {
				return nil, fmt.Errorf("--metadata-hash: want 64 hex digits (the SM3 of the asset's terms)")
			}
			a.MetadataHash = h
		}
		return &txpb.Propose{Action: &txpb.Propose_CreateAsset{CreateAsset: a}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&ca.Ledger, "ledger", "payments", "sub-ledger")
		c.Flags().StringVar(&ca.Symbol, "symbol", "", "asset symbol (1-32 of A-Z a-z 0-9 _ . -)")
		c.Flags().StringVar(&ca.Issuer, "issuer", "", "issuing organisation")
		c.Flags().Uint32Var(&ca.Decimals, "decimals", 2, "display decimals (0-18)")
		c.Flags().Uint64Var(&ca.SupplyCap, "supply-cap", 0, "most that may be outstanding, in the smallest unit (0: no cap)")
		c.Flags().BoolVar(&ca.Redeemable, "redeemable", false, "holders may return units to the issuer (tx redeem)")
		c.Flags().StringVar(&caHash, "metadata-hash", "", "SM3 of the asset's terms (64 hex digits), optional")
		_ = c.MarkFlagRequired("symbol")
		_ = c.MarkFlagRequired("issuer")
	}))
	var uaLedger, uaSymbol, uaIssuer string
	var uaCap uint64
	var uaPause, uaUnpause, uaCapSet bool
	propose.AddCommand(proposeCmd(g, "update-asset", "Change an asset: --supply-cap, --pause/--unpause, --issuer (what is not given stays)", &title, func() (*txpb.Propose, error) {
		u := &txpb.UpdateAsset{Ledger: uaLedger, Symbol: uaSymbol}
		if uaPause && uaUnpause {
			return nil, fmt.Errorf("--pause and --unpause together")
		}
		if uaPause || uaUnpause {
			u.Paused = &uaPause
		}
		if uaCapSet {
			u.SupplyCap = &uaCap
		}
		if uaIssuer != "" {
			u.Issuer = &uaIssuer
		}
		if u.Paused == nil && u.SupplyCap == nil && u.Issuer == nil {
			return nil, fmt.Errorf("nothing to change: give --supply-cap, --pause, --unpause or --issuer")
		}
		return &txpb.Propose{Action: &txpb.Propose_UpdateAsset{UpdateAsset: u}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&uaLedger, "ledger", "payments", "sub-ledger")
		c.Flags().StringVar(&uaSymbol, "symbol", "", "asset symbol")
		c.Flags().Uint64Var(&uaCap, "supply-cap", 0, "new supply cap (0 removes it; never below what is outstanding)")
		c.Flags().BoolVar(&uaPause, "pause", false, "pause the asset: it moves nowhere")
		c.Flags().BoolVar(&uaUnpause, "unpause", false, "let the asset move again")
		c.Flags().StringVar(&uaIssuer, "issuer", "", "new issuing organisation")
		_ = c.MarkFlagRequired("symbol")
		c.PreRun = func(c *cobra.Command, _ []string) { uaCapSet = c.Flags().Changed("supply-cap") }
	}))
	var liftID uint64
	propose.AddCommand(proposeCmd(g, "lift-hold", "Lift a hold (as placing it; a hold the regulator approved needs the regulator or hold_wide_threshold)", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_LiftHold{LiftHold: &txpb.LiftHold{HoldId: liftID}}}, nil
	}, func(c *cobra.Command) { c.Flags().Uint64Var(&liftID, "id", 0, "hold id") }))
	var up txpb.ScheduleUpgrade
	propose.AddCommand(proposeCmd(g, "schedule-upgrade", "Schedule a software upgrade: at --height every node stops unless its binary carries the migration --name (docs/upgrades.md)", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_ScheduleUpgrade{ScheduleUpgrade: &txpb.ScheduleUpgrade{Name: up.Name, Height: up.Height, Info: up.Info}}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&up.Name, "name", "", "upgrade name, as the new release registers its migration")
		c.Flags().Int64Var(&up.Height, "height", 0, "height at which the upgrade happens (after the vote ends)")
		c.Flags().StringVar(&up.Info, "info", "", "for operators: the release, where to get it, its SM3 hash")
	}))
	var cancelName string
	propose.AddCommand(proposeCmd(g, "cancel-upgrade", "Cancel the scheduled upgrade --name before its height", &title, func() (*txpb.Propose, error) {
		return &txpb.Propose{Action: &txpb.Propose_CancelUpgrade{CancelUpgrade: &txpb.CancelUpgrade{Name: cancelName}}}, nil
	}, func(c *cobra.Command) { c.Flags().StringVar(&cancelName, "name", "", "name of the scheduled upgrade") }))
	var sp txpb.SetParams
	var wideThreshold string
	propose.AddCommand(proposeCmd(g, "set-params", "Change consortium parameters (zero leaves a value unchanged)", &title, func() (*txpb.Propose, error) {
		p := &txpb.SetParams{TxTimeWindowSeconds: sp.TxTimeWindowSeconds, VotingPeriodBlocks: sp.VotingPeriodBlocks,
			HoldApprovals: sp.HoldApprovals, HoldMaxBlocks: sp.HoldMaxBlocks}
		if wideThreshold != "" {
			num, den, ok := strings.Cut(wideThreshold, "/")
			n, err1 := strconv.ParseInt(num, 10, 64)
			d, err2 := strconv.ParseInt(den, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("--hold-wide-threshold %q: want NUM/DEN, e.g. 2/3", wideThreshold)
			}
			p.HoldWideThresholdNum, p.HoldWideThresholdDen = n, d
		}
		return &txpb.Propose{Action: &txpb.Propose_SetParams{SetParams: p}}, nil
	}, func(c *cobra.Command) {
		b := app.ParamBounds
		c.Flags().Int64Var(&sp.TxTimeWindowSeconds, "tx-time-window", 0, fmt.Sprintf("seconds, %d to %d", b.TxTimeWindowSeconds[0], b.TxTimeWindowSeconds[1]))
		c.Flags().Int64Var(&sp.VotingPeriodBlocks, "voting-period", 0, fmt.Sprintf("blocks, %d to %d", b.VotingPeriodBlocks[0], b.VotingPeriodBlocks[1]))
		c.Flags().Int64Var(&sp.HoldApprovals, "hold-approvals", 0, fmt.Sprintf("organisations that place or lift an account hold, %d to %d", b.HoldApprovals[0], b.HoldApprovals[1]))
		c.Flags().StringVar(&wideThreshold, "hold-wide-threshold", "", "share of committee organisations for asset and ledger holds and for lifting the regulator's holds, NUM/DEN from 1/2 to below 1")
		c.Flags().Int64Var(&sp.HoldMaxBlocks, "hold-max-blocks", 0, fmt.Sprintf("longest a hold lasts, blocks, %d to %d", b.HoldMaxBlocks[0], b.HoldMaxBlocks[1]))
	}))

	vote := systemTxCmd(g, "vote ID yes|no", "Cast your organisation's vote", cobra.ExactArgs(2), func(args []string) (*txpb.Message, error) {
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("proposal id %q: %w", args[0], err)
		}
		var yes bool
		switch strings.ToLower(args[1]) {
		case "yes", "y":
			yes = true
		case "no", "n":
		default:
			return nil, fmt.Errorf("vote %q: want yes or no", args[1])
		}
		return &txpb.Message{Body: &txpb.Message_Vote{Vote: &txpb.Vote{ProposalId: id, Yes: yes}}}, nil
	}, nil)

	show := &cobra.Command{
		Use: "show ID", Short: "A proposal with its votes and result", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p permission.Proposal
			if err := abciQuery(cmd.Context(), g.node, app.QueryProposal, []byte(args[0]), 0, &p); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, viewProposal(p), func(w io.Writer) { printProposal(w, p, true) })
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "Every proposal", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ps []permission.Proposal
			if err := abciQuery(cmd.Context(), g.node, app.QueryProposals, nil, 0, &ps); err != nil {
				return err
			}
			views := make([]proposalView, len(ps))
			for i, p := range ps {
				views[i] = viewProposal(p)
			}
			return emit(cmd.OutOrStdout(), g, views, func(w io.Writer) {
				if len(ps) == 0 {
					fmt.Fprintln(w, "no proposals")
				}
				for _, p := range ps {
					printProposal(w, p, false)
				}
			})
		},
	}
	cmd.AddCommand(propose, vote, show, list)
	return cmd
}

// proposalView is a proposal as `gov show` and `gov list` print it in
// JSON: the action decoded (protojson, field names as in the .proto), its
// fields (bytes as hex) and its target, rather than encoded bytes.
type proposalView struct {
	permission.Proposal
	// Action shadows the embedded encoded action.
	Action       json.RawMessage   `json:"action"`
	ActionFields map[string]string `json:"action_fields"`
	// Target is what the proposal acts on (organisation, ledger, asset,
	// identity, node, hold), as key=value pairs.
	Target string `json:"target"`
	Yes    int    `json:"yes"`
	No     int    `json:"no"`
}

func viewProposal(p permission.Proposal) proposalView {
	v := proposalView{Proposal: p, ActionFields: actionFields(p.Action), Target: proposalTarget(p.Action)}
	v.Yes, v.No = p.Tally()
	var m txpb.Propose
	if err := proto.Unmarshal(p.Action, &m); err == nil {
		r := m.ProtoReflect()
		if fd := r.WhichOneof(r.Descriptor().Oneofs().ByName("action")); fd != nil {
			if b, err := (protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false}).Marshal(r.Get(fd).Message().Interface()); err == nil {
				// protojson's output is not stable byte for byte; re-encode
				// it through encoding/json for a deterministic form.
				var x any
				if json.Unmarshal(b, &x) == nil {
					v.Action, _ = json.Marshal(x)
				}
			}
		}
	}
	if v.Action == nil {
		v.Action = json.RawMessage("{}")
	}
	return v
}

// targetFields name what a proposal acts on, in the order they are shown.
var targetFields = []string{"ledger", "symbol", "asset", "account", "org", "id", "name", "node_id", "address", "hold_id", "serial"}

// proposalTarget says what a proposal acts on, from its action's fields.
func proposalTarget(action []byte) string {
	fields := actionFields(action)
	var parts []string
	for _, k := range targetFields {
		if v := fields[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		if _, ok := fields["error"]; ok {
			return "(undecodable action)"
		}
		return "the consortium"
	}
	return strings.Join(parts, " ")
}

func printProposal(w io.Writer, p permission.Proposal, votes bool) {
	yes, no := p.Tally()
	fmt.Fprintf(w, "#%d %-18s %-8s yes %d no %d  heights %d..%d  by %s  %s\n", p.ID, p.Type, p.Status, yes, no, p.SubmitHeight, p.EndHeight, p.ProposerOrg, p.Title)
	fmt.Fprintf(w, "  target: %s\n", proposalTarget(p.Action))
	fields := actionFields(p.Action)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	var action []string
	for _, k := range names {
		action = append(action, k+"="+fields[k])
	}
	line := strings.Join(action, " ")
	if r := []rune(line); !votes && len(r) > 100 {
		line = string(r[:97]) + "..."
	}
	fmt.Fprintf(w, "  action: %s\n", line)
	if votes {
		for _, v := range p.Votes {
			fmt.Fprintf(w, "  vote %-8s yes=%v by %s at %d\n", v.Org, v.Yes, v.Voter, v.Height)
		}
		if p.Result != "" {
			fmt.Fprintf(w, "  result: %s\n", p.Result)
		}
	}
}

// validatorFromHome reads what a set-validator proposal needs from a node home.
func validatorFromHome(home string) (*txpb.SetValidator, error) {
	var pv struct {
		PubKey struct {
			Value string `json:"value"`
		} `json:"pub_key"`
	}
	b, err := os.ReadFile(filepath.Join(home, "config", "priv_validator_key.json"))
	if err != nil {
		return nil, fmt.Errorf("--validator-home: %w", err)
	}
	if err := json.Unmarshal(b, &pv); err != nil {
		return nil, fmt.Errorf("priv_validator_key.json: %w", err)
	}
	pk, err := base64.StdEncoding.DecodeString(pv.PubKey.Value)
	if err != nil {
		return nil, fmt.Errorf("priv_validator_key.json pub_key: %w", err)
	}
	nk, err := p2p.LoadNodeKey(filepath.Join(home, "config", "node_key.json"))
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	sv := &txpb.SetValidator{PubKeyEd25519: pk, NodeId: string(nk.ID())}
	if info, err := gmcrypto.ReadKeyInfo(node.SM2KeyFile(home)); err == nil {
		pub, err := gmcrypto.ParsePublicKeyPEM([]byte(info.PublicKey))
		if err != nil {
			return nil, err
		}
		sv.Sm2PublicKey = pub.Bytes()
	}
	return sv, nil
}

func newIdentityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "identity", Short: "Identities of your organisation (admin role)"}
	var addr, name, certFile string
	var roles []string
	cmd.AddCommand(systemTxCmd(g, "register", "Register an identity of your organisation by its certificate, with member roles (other roles need a grant-role proposal)", cobra.NoArgs, func([]string) (*txpb.Message, error) {
		ri := &txpb.RegisterIdentity{Name: name, Roles: roles}
		if certFile != "" {
			pem, err := os.ReadFile(certFile)
			if err != nil {
				return nil, fmt.Errorf("--cert: %w", err)
			}
			if info, err := gmcrypto.ReadKeyInfo(certFile); err == nil && info.Certificate != "" {
				pem = []byte(info.Certificate) // a key file from jinlian ca issue
			}
			cert, err := gmcrypto.ParseCertificatePEM(pem)
			if err != nil {
				return nil, fmt.Errorf("--cert %s: %w", certFile, err)
			}
			ri.Certificate = pem
			ri.Address = cert.PublicKey().Address().Bytes()
		}
		if addr != "" {
			a, err := parseAddr("address", addr)
			if err != nil {
				return nil, err
			}
			if ri.Address != nil && string(a) != string(ri.Address) {
				return nil, fmt.Errorf("--address %s is not the address of the key in --cert (%x)", addr, ri.Address)
			}
			ri.Address = a
		}
		if ri.Address == nil {
			return nil, fmt.Errorf("give --cert (the identity's certificate from your organisation's CA) or, on a network whose organisation has no CA, --address")
		}
		return &txpb.Message{Body: &txpb.Message_RegisterIdentity{RegisterIdentity: ri}}, nil
	}, func(c *cobra.Command) {
		c.Flags().StringVar(&certFile, "cert", "", "the identity's certificate from your organisation's CA: a PEM file, or the key file jinlian ca issue wrote; gives the address")
		c.Flags().StringVar(&addr, "address", "", "identity address (only where your organisation has no CA; else taken from --cert)")
		c.Flags().StringVar(&name, "name", "", "name")
		c.Flags().StringSliceVar(&roles, "roles", []string{"member"}, "roles: member, member:<ledger>")
	}))
	return cmd
}

func registryQueryCmds(g *globals) []*cobra.Command {
	var identity string
	roles := &cobra.Command{
		Use: "roles", Short: "Registered identities and their roles", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ids []permission.Identity
			if err := abciQuery(cmd.Context(), g.node, app.QueryRoles, []byte(identity), 0, &ids); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, ids, func(w io.Writer) {
				for _, id := range ids {
					fmt.Fprintf(w, "%s %-8s %-10s %s\n", id.Address, id.Org, id.Name, strings.Join(id.Roles, ","))
				}
			})
		},
	}
	roles.Flags().StringVar(&identity, "identity", "", "one identity's address")
	nodes := &cobra.Command{
		Use: "nodes", Short: "Nodes admitted by the peer filter", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ns []permission.Node
			if err := abciQuery(cmd.Context(), g.node, app.QueryNodes, nil, 0, &ns); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, ns, func(w io.Writer) {
				for _, n := range ns {
					fmt.Fprintf(w, "%s %-8s %s\n", n.ID, n.Org, n.Kind)
				}
			})
		},
	}
	holds := &cobra.Command{
		Use: "holds", Short: "Holds and whether each is in force", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var hs []app.HoldStatus
			if err := abciQuery(cmd.Context(), g.node, app.QueryHolds, nil, 0, &hs); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, hs, func(w io.Writer) {
				for _, h := range hs {
					fmt.Fprintf(w, "active=%-5v %s\n", h.Active, h.Hold)
				}
			})
		},
	}
	upgrade := &cobra.Command{
		Use: "upgrade", Short: "The scheduled software upgrade, and the upgrades the node's binary carries", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st app.UpgradeStatus
			if err := abciQuery(cmd.Context(), g.node, app.QueryUpgrade, nil, 0, &st); err != nil {
				return err
			}
			return emit(cmd.OutOrStdout(), g, st, func(w io.Writer) {
				if st.Plan == nil {
					fmt.Fprintln(w, "no upgrade scheduled")
				} else {
					fmt.Fprintf(w, "upgrade %s at height %d (%s)\n", st.Plan.Name, st.Plan.Height, st.Plan.Info)
				}
				for _, u := range st.Applied {
					fmt.Fprintf(w, "applied %s at height %d\n", u.Name, u.Height)
				}
				fmt.Fprintf(w, "the node's binary carries: %v\n", st.Carried)
			})
		},
	}
	return []*cobra.Command{roles, nodes, holds, upgrade}
}

// actionFields decodes a proposal's stored action into its fields
// (wire.ActionFields), so that committee members see what they vote on.
func actionFields(action []byte) map[string]string { return wire.ActionFields(action) }
