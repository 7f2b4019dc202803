package wire

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// eventsByType holds every event message of events.proto by its CometBFT
// event type, read from the file's descriptor: an event message needs no
// entry anywhere else.
var eventsByType = func() map[string]protoreflect.MessageType {
	file := txpb.File_jinlian_tx_v1_events_proto
	out := map[string]protoreflect.MessageType{}
	msgs := file.Messages()
	for i := range msgs.Len() {
		d := msgs.Get(i)
		if !strings.HasPrefix(string(d.Name()), "Event") {
			continue
		}
		for j := range d.Fields().Len() {
			f := d.Fields().Get(j)
			if f.IsList() || f.IsMap() || f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
				panic(fmt.Sprintf("wire: event %s field %s is not a scalar", d.FullName(), f.Name()))
			}
		}
		mt, err := protoregistry.GlobalTypes.FindMessageByName(d.FullName())
		if err != nil {
			panic(fmt.Sprintf("wire: event %s: %v", d.FullName(), err))
		}
		out[typeOf(d)] = mt
	}
	return out
}()

// typeOf is an event message's CometBFT type: its name without "Event" in
// snake case (EventAmlThreshold: aml_threshold).
func typeOf(d protoreflect.MessageDescriptor) string {
	name := strings.TrimPrefix(string(d.Name()), "Event")
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// EventType is the CometBFT event type of an event message.
func EventType(m protoreflect.ProtoMessage) string { return typeOf(m.ProtoReflect().Descriptor()) }

// EventTypes lists every event type, sorted.
func EventTypes() []string {
	out := make([]string, 0, len(eventsByType))
	for t := range eventsByType {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Event turns an event message into a CometBFT event: one attribute per
// field in field order, zero values included, every attribute indexed.
// Values: strings as they are, integers in decimal, bools "true"/"false",
// bytes in upper-case hex.
func Event(m protoreflect.ProtoMessage) abci.Event {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	attrs := make([]abci.EventAttribute, fields.Len())
	for i := range fields.Len() {
		f := fields.Get(i)
		attrs[i] = abci.EventAttribute{Key: string(f.Name()), Value: formatValue(f, r.Get(f)), Index: true}
	}
	return abci.Event{Type: typeOf(r.Descriptor()), Attributes: attrs}
}

func formatValue(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.BytesKind:
		return strings.ToUpper(hex.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		return strconv.FormatInt(int64(v.Enum()), 10)
	}
	return v.String()
}

// ParseEvent decodes a CometBFT event of a jinlian event type into its
// event message. ok is false for an event type jinlian does not define
// (CometBFT's own, another application's); err names the attribute that
// does not parse, is unknown or repeated.
func ParseEvent(ev abci.Event) (m proto.Message, ok bool, err error) {
	mt, ok := eventsByType[ev.Type]
	if !ok {
		return nil, false, nil
	}
	r := mt.New()
	fields := r.Descriptor().Fields()
	seen := make(map[string]bool, len(ev.Attributes))
	for _, a := range ev.Attributes {
		f := fields.ByName(protoreflect.Name(a.Key))
		if f == nil {
			return nil, true, fmt.Errorf("%s event: unknown attribute %q", ev.Type, a.Key)
		}
		if seen[a.Key] {
			return nil, true, fmt.Errorf("%s event: attribute %q repeated", ev.Type, a.Key)
		}
		seen[a.Key] = true
		v, err := parseValue(f, a.Value)
		if err != nil {
			return nil, true, fmt.Errorf("%s event: attribute %s=%q: %w", ev.Type, a.Key, a.Value, err)
		}
		r.Set(f, v)
	}
	return r.Interface(), true, nil
}

func parseValue(f protoreflect.FieldDescriptor, s string) (protoreflect.Value, error) {
	switch f.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		return protoreflect.ValueOfBool(b), err
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := strconv.ParseInt(s, 10, 64)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := strconv.ParseUint(s, 10, 32)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := strconv.ParseUint(s, 10, 64)
		return protoreflect.ValueOfUint64(n), err
	case protoreflect.BytesKind:
		b, err := hex.DecodeString(s)
		return protoreflect.ValueOfBytes(b), err
	case protoreflect.EnumKind:
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), err
	}
	return protoreflect.Value{}, fmt.Errorf("unsupported field kind %s", f.Kind())
}
