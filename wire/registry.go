package wire

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// MessageSpec is the registry entry of one message of txpb.Message's body.
type MessageSpec struct {
	// Name is the oneof field's name ("transfer"): the message's name in
	// logs, events (jinlian_tx.type) and the app's handler table.
	Name string
	// System messages travel on the _system channel; the others on a
	// sub-ledger.
	System bool
	// Policy says who may send it and what it must satisfy (docs/cli.md
	// and the app's handler, which enforces it).
	Policy string
	// Events are the event messages it emits on success, besides the
	// EventJinlianTx every transaction ends with.
	Events []protoreflect.ProtoMessage
	// Command is the CLI command that sends it.
	Command string
}

// EventTypes names Events as CometBFT sees them.
func (s MessageSpec) EventTypes() []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = EventType(e)
	}
	return out
}

// messages is the registry: one entry per field of txpb.Message's body, in
// field-number order. Adding a message is one entry here and its handler in
// app's handler table; init refuses a registry that misses a field.
var messages = []MessageSpec{
	{Name: "issue", Policy: "issuer:<ledger>/<asset> role of the asset's issuer organisation; not held; no sanctioned party; a registered recipient",
		Events: events(&txpb.EventIssue{}), Command: "jinlian tx issue"},
	{Name: "transfer", Policy: "member of the ledger; not held; no sanctioned party; a registered recipient; a confidential payload readable by the parties and every regulator",
		Events: events(&txpb.EventTransfer{}), Command: "jinlian tx transfer"},
	{Name: "burn", Policy: "member of the ledger; not held; not sanctioned",
		Events: events(&txpb.EventBurn{}), Command: "jinlian tx burn"},
	{Name: "redeem", Policy: "member of the ledger; the asset redeemable and not paused; not held; not sanctioned",
		Events: events(&txpb.EventRedeem{}), Command: "jinlian tx redeem"},
	{Name: "settle_redemption", Policy: "issuer:<ledger>/<asset> role of the asset's issuer organisation; the asset not paused; not held",
		Events: events(&txpb.EventRedemptionSettled{}), Command: "jinlian tx settle-redemption"},
	{Name: "revoke_certificate", System: true, Policy: "admin of the sender's organisation",
		Events: events(&txpb.EventRevokeCertificate{}), Command: "jinlian ca revoke"},
	{Name: "register_identity", System: true, Policy: "admin of the sender's organisation; the identity's certificate from its root CA; member roles only",
		Events: events(&txpb.EventRegisterIdentity{}), Command: "jinlian identity register"},
	{Name: "set_sanction", System: true, Policy: "regulator",
		Events: events(&txpb.EventSanction{}), Command: "jinlian reg sanctions add|remove"},
	{Name: "register_escrow_key", System: true, Policy: "regulator",
		Events: events(&txpb.EventEscrowKey{}), Command: "jinlian reg register-escrow-key"},
	{Name: "set_aml_threshold", System: true, Policy: "regulator",
		Events: events(&txpb.EventAmlThreshold{}), Command: "jinlian reg set-threshold"},
	{Name: "register_checkpoint_key", System: true, Policy: "admin of the validator's organisation",
		Events: events(&txpb.EventCheckpointKey{}), Command: "jinlian checkpoint register"},
	{Name: "propose", System: true, Policy: "committee; a regulator too for place_hold and lift_hold",
		Events: events(&txpb.EventProposal{}), Command: "jinlian gov propose <action>"},
	{Name: "vote", System: true, Policy: "committee; a regulator too on holds",
		Events: events(&txpb.EventProposalVote{}, &txpb.EventProposal{}), Command: "jinlian gov vote"},
	{Name: "custody_create", Policy: "member of the ledger; not held; no sanctioned party; signers member identities of the ledger, each once; 1 ≤ threshold ≤ signers",
		Events: events(&txpb.EventCustodyCreated{}), Command: "jinlian tx custody create"},
	{Name: "custody_propose", Policy: "member of the ledger and signer of the account; sender and account not held; no sanctioned party; a registered recipient; within the daily limit; executes at once when the threshold is 1 and there is no time lock",
		Events:  events(&txpb.EventCustodyClosed{}, &txpb.EventCustodyProposed{}, &txpb.EventCustodyApproved{}, &txpb.EventTransfer{}, &txpb.EventCustodyExecuted{}),
		Command: "jinlian tx custody propose"},
	{Name: "custody_approve", Policy: "member of the ledger and signer of the account, once per proposal; not held; not sanctioned; the approval reaching the threshold executes when there is no time lock",
		Events:  events(&txpb.EventCustodyApproved{}, &txpb.EventTransfer{}, &txpb.EventCustodyClosed{}, &txpb.EventCustodyExecuted{}),
		Command: "jinlian tx custody approve"},
	{Name: "custody_veto", Policy: "member of the ledger and signer of the account; not held; not sanctioned; before the proposal is executable",
		Events: events(&txpb.EventCustodyClosed{}), Command: "jinlian tx custody veto"},
	{Name: "custody_execute", Policy: "member of the ledger; not held; not sanctioned; threshold approvals, time lock over, not expired; the account not held, neither it nor the recipient sanctioned; within the daily limit",
		Events: events(&txpb.EventTransfer{}, &txpb.EventCustodyClosed{}, &txpb.EventCustodyExecuted{}), Command: "jinlian tx custody execute"},
	{Name: "custody_set_signers", Policy: "member of the ledger and signer of the account; not held; not sanctioned; a proposal approved like a payment",
		Events:  events(&txpb.EventCustodyClosed{}, &txpb.EventCustodyProposed{}, &txpb.EventCustodyApproved{}, &txpb.EventCustodyExecuted{}),
		Command: "jinlian tx custody set-signers"},
	{Name: "pvp_propose", System: true, Policy: "member of leg A's ledger, the counterparty a member of leg B's; legs of known assets, positive amounts, not both the same asset of one ledger; receivers payees of the ledger they are paid on, of different organisations; expiry in the future; not held on leg A; no sanctioned party",
		Events: events(&txpb.EventPvpProposed{}), Command: "jinlian tx pvp propose"},
	{Name: "pvp_fund", System: true, Policy: "the leg's party (A: the proposer, B: the counterparty), a member of its ledger, once per leg, before the expiry height; not held; no sanctioned party; the funding that completes the trade settles both legs at once (from the value height)",
		Events: events(&txpb.EventTransfer{}, &txpb.EventPvpFunded{}, &txpb.EventPvpSettled{}), Command: "jinlian tx pvp fund"},
	{Name: "pvp_settle", System: true, Policy: "anyone registered; both legs funded, from the value height, before the expiry height; escrows not held, no sanctioned receiver",
		Events: events(&txpb.EventTransfer{}, &txpb.EventPvpSettled{}), Command: "jinlian tx pvp settle"},
	{Name: "pvp_refund", System: true, Policy: "a party of the trade any time before it settles, anyone from the expiry height; the funded legs return to their funders",
		Events: events(&txpb.EventTransfer{}, &txpb.EventPvpRefunded{}), Command: "jinlian tx pvp refund"},
	{Name: "receivable_register", Policy: "member of the ledger (the payee); not held; no sanctioned party; the payer a member identity of another organisation; a known asset, a positive face value; exactly one of a due height and a due time, in the future; an invoice hash (SM3, 32 bytes) not registered before",
		Events: events(&txpb.EventReceivableRequested{}), Command: "jinlian tx receivable register"},
	{Name: "receivable_confirm", Policy: "the receivable's payer, once, while requested; member of the ledger; not held; not sanctioned; rejecting frees the invoice hash",
		Events: events(&txpb.EventReceivableConfirmed{}), Command: "jinlian tx receivable confirm"},
	{Name: "receivable_split", Policy: "the part's holder, member of the ledger; not held; not sanctioned; the part not pledged nor paid; at least 2 positive amounts summing to the part's; at most 64 parts",
		Events: events(&txpb.EventReceivableSplit{}), Command: "jinlian tx receivable split"},
	{Name: "receivable_transfer", Policy: "the part's holder, member of the ledger; not held; no sanctioned party; the part not pledged; the recipient a member identity of the ledger",
		Events: events(&txpb.EventReceivableTransferred{}), Command: "jinlian tx receivable transfer"},
	{Name: "receivable_pledge", Policy: "the part's holder, member of the ledger; not held; no sanctioned party; the part not pledged; the pledgee a member identity of the ledger",
		Events: events(&txpb.EventReceivablePledged{}), Command: "jinlian tx receivable pledge"},
	{Name: "receivable_unpledge", Policy: "the part's pledgee, member of the ledger; not held; not sanctioned",
		Events: events(&txpb.EventReceivableUnpledged{}), Command: "jinlian tx receivable unpledge"},
	{Name: "receivable_discount_offer", Policy: "the part's holder, member of the ledger; not held; no sanctioned party; the part not pledged; the bank a member identity of the ledger; 0 < price ≤ the part's outstanding amount; expiry in the future",
		Events: events(&txpb.EventReceivableDiscountOffered{}), Command: "jinlian tx receivable discount-offer"},
	{Name: "receivable_discount_accept", Policy: "the bank the part is offered to, at the offered price, before the offer's expiry; member of the ledger; not held; no sanctioned party; funds for the price: the price paid and the part delivered in one transaction",
		Events: events(&txpb.EventTransfer{}, &txpb.EventReceivableDiscounted{}), Command: "jinlian tx receivable discount-accept"},
	{Name: "receivable_settle", Policy: "the receivable's payer, member of the ledger, from the due height or time; not held; no sanctioned party; 0 < amount ≤ outstanding; paid to the parts' holders pro rata in one transaction; a payment leaving an amount outstanding marks it overdue",
		Events: events(&txpb.EventTransfer{}, &txpb.EventReceivableSettled{}, &txpb.EventReceivableOverdue{}), Command: "jinlian tx receivable settle"},
	{Name: "receivable_mark_overdue", Policy: "member of the ledger; not held; not sanctioned; the receivable past its due height or time with an amount outstanding, not yet overdue",
		Events: events(&txpb.EventReceivableOverdue{}), Command: "jinlian tx receivable mark-overdue"},
}

func events(e ...protoreflect.ProtoMessage) []protoreflect.ProtoMessage { return e }

var (
	bodyOneof   = (&txpb.Message{}).ProtoReflect().Descriptor().Oneofs().ByName("body")
	actionOneof = (&txpb.Propose{}).ProtoReflect().Descriptor().Oneofs().ByName("action")
	byField     map[protoreflect.Name]*MessageSpec
)

func init() {
	if err := checkRegistry(bodyOneof, messages); err != nil {
		panic(err)
	}
	byField = make(map[protoreflect.Name]*MessageSpec, len(messages))
	for i := range messages {
		byField[protoreflect.Name(messages[i].Name)] = &messages[i]
	}
}

// checkRegistry requires exactly one spec per field of the oneof, in field
// order, each emitting registered event types.
func checkRegistry(oneof protoreflect.OneofDescriptor, specs []MessageSpec) error {
	fields := oneof.Fields()
	if fields.Len() != len(specs) {
		return fmt.Errorf("wire: %s has %d messages, the registry %d entries", oneof.FullName(), fields.Len(), len(specs))
	}
	for i := range fields.Len() {
		f, s := fields.Get(i), specs[i]
		if string(f.Name()) != s.Name {
			return fmt.Errorf("wire: registry entry %d is %q, want %q (the %s field in field order)", i, s.Name, f.Name(), oneof.FullName())
		}
		if s.Policy == "" || s.Command == "" || len(s.Events) == 0 {
			return fmt.Errorf("wire: registry entry %q lacks its policy, command or events", s.Name)
		}
		for _, e := range s.Events {
			if mt, ok := eventsByType[EventType(e)]; !ok || mt.Descriptor() != e.ProtoReflect().Descriptor() {
				return fmt.Errorf("wire: message %q emits %s, which is not an event message", s.Name, e.ProtoReflect().Descriptor().FullName())
			}
		}
	}
	return nil
}

// Messages returns the registry in field order.
func Messages() []MessageSpec { return slices.Clone(messages) }

// Spec returns the registry entry of m's message.
func Spec(m *txpb.Message) (*MessageSpec, bool) {
	f := m.ProtoReflect().WhichOneof(bodyOneof)
	if f == nil {
		return nil, false
	}
	s, ok := byField[f.Name()]
	return s, ok
}

// MessageName names m's message for logs and events ("unknown" for none).
func MessageName(m *txpb.Message) string {
	if s, ok := Spec(m); ok {
		return s.Name
	}
	return "unknown"
}

// ProposalTypes are the governance actions, named as the fields of
// txpb.Propose's action oneof (and as in gov_thresholds).
func ProposalTypes() []string {
	fields := actionOneof.Fields()
	out := make([]string, fields.Len())
	for i := range fields.Len() {
		out[i] = string(fields.Get(i).Name())
	}
	return out
}

// ProposalType names a proposal's action ("" when it has none).
func ProposalType(p *txpb.Propose) string {
	if f := p.ProtoReflect().WhichOneof(actionOneof); f != nil {
		return string(f.Name())
	}
	return ""
}
