package wire

import (
	"encoding/hex"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// ActionFields decodes a proposal's stored action into its fields, bytes
// as hex (addresses, keys), so that committee members see what they vote on.
func ActionFields(action []byte) map[string]string {
	var m txpb.Propose
	if err := proto.Unmarshal(action, &m); err != nil {
		return map[string]string{"error": "undecodable action: " + err.Error()}
	}
	r := m.ProtoReflect()
	fd := r.WhichOneof(r.Descriptor().Oneofs().ByName("action"))
	if fd == nil {
		return map[string]string{}
	}
	out := map[string]string{}
	r.Get(fd).Message().Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		out[string(f.Name())] = actionFieldString(f, v)
		return true
	})
	return out
}

func actionFieldString(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	if f.IsList() {
		l := v.List()
		parts := make([]string, l.Len())
		for i := range parts {
			parts[i] = actionScalarString(f, l.Get(i))
		}
		return strings.Join(parts, ",")
	}
	return actionScalarString(f, v)
}

func actionScalarString(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.BytesKind:
		return hex.EncodeToString(v.Bytes())
	case protoreflect.MessageKind:
		b, _ := protojson.Marshal(v.Message().Interface())
		return string(b)
	}
	return v.String()
}
