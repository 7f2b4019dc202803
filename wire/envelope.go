package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/jinlian-ledger/jinlian/gmcrypto"
	"github.com/jinlian-ledger/jinlian/internal/memo"
	"github.com/jinlian-ledger/jinlian/proto/txpb"
)

// HeaderTypeJinlian is the ChannelHeader.type of every jinlian transaction.
// Fabric's own types stop well below it, so a Fabric tool recognises the
// envelope but never mistakes it for one of its transactions.
const HeaderTypeJinlian = common.HeaderType(10000)

// Limits on outside bytes.
const (
	MaxTxBytes  = 64 << 10
	MinNonceLen = 16
	MaxNonceLen = 64
)

// Tx is a decoded, structurally valid transaction. Its signature is checked
// separately (VerifySignature) so that callers can cache the result.
type Tx struct {
	ID        string // hex(SM3(nonce ‖ creator))
	Ledger    string // channel id
	ChainID   string
	Timestamp time.Time
	MSPID     string
	Creator   *gmcrypto.PublicKey
	Cert      *gmcrypto.Certificate // nil when the creator is a bare public key
	// CertRef is the SM3 hash of the certificate the creator names instead
	// of carrying it (a public key PEM with one Certificate-SM3 header;
	// docs/adr/0025-certificate-references.md); nil otherwise. The app
	// resolves it in state.
	CertRef []byte
	// CertRefErr says why the creator's public key PEM carries headers that
	// are not one well-formed Certificate-SM3 header; nil otherwise. Before
	// a chain turns certificate references on, headers are ignored, as they
	// always were; after, the app refuses such a creator.
	CertRefErr error
	Sender     gmcrypto.Address
	Msg        *txpb.Message
	// Spec is Msg's registry entry, looked up once when decoding.
	Spec *MessageSpec

	payload   []byte
	signature []byte
	nonce     []byte
	creator   []byte // serialized identity
}

// TxIDOf recomputes a decoded tx's id from its nonce and creator.
func TxIDOf(t *Tx) string { return TxID(t.nonce, t.creator) }

// DecodeTx parses an envelope and checks its structure: sizes, header type,
// the tx id binding, the creator's key. It does not verify the signature.
func DecodeTx(b []byte) (*Tx, error) {
	if len(b) == 0 {
		return nil, ErrTxDecode.Wrapf("empty transaction")
	}
	if len(b) > MaxTxBytes {
		return nil, ErrTxDecode.Wrapf("transaction of %d bytes exceeds the %d-byte limit", len(b), MaxTxBytes)
	}
	// The Tx keeps slices of the envelope (payload, signature, nonce,
	// creator); one copy of the bytes lets it keep them without holding
	// the caller's buffer.
	b = slices.Clone(b)
	p, ok := scanEnvelope(b)
	if !ok {
		var err error
		if p, err = unmarshalEnvelope(b); err != nil {
			return nil, err
		}
	}
	if len(p.payload) == 0 || len(p.signature) == 0 {
		return nil, ErrTxDecode.Wrapf("envelope lacks payload or signature")
	}
	if !p.hasHeader {
		return nil, ErrTxDecode.Wrapf("payload has no header")
	}
	if common.HeaderType(p.chType) != HeaderTypeJinlian {
		return nil, ErrTxDecode.Wrapf("channel header type %d, want %d", p.chType, HeaderTypeJinlian)
	}
	if p.channelID == "" {
		return nil, ErrTxDecode.Wrapf("channel header names no sub-ledger")
	}
	ts := timestamppb.Timestamp{Seconds: p.seconds, Nanos: p.nanos}
	if !p.hasTimestamp || ts.CheckValid() != nil {
		return nil, ErrTxDecode.Wrapf("channel header has no valid timestamp")
	}
	if n := len(p.nonce); n < MinNonceLen || n > MaxNonceLen {
		return nil, ErrTxDecode.Wrapf("nonce of %d bytes, want %d..%d", n, MinNonceLen, MaxNonceLen)
	}
	if p.mspid == "" {
		return nil, ErrTxDecode.Wrapf("creator names no organisation (mspid)")
	}
	c, err := parseCreatorCached(p.idBytes)
	if err != nil {
		return nil, ErrTxDecode.Wrapf("creator of organisation %s: %v", p.mspid, err)
	}
	want := TxID(p.nonce, p.creator)
	if p.txID != want {
		return nil, ErrTxDecode.Wrapf("tx id %q does not match hex(SM3(nonce ‖ creator)) %s", p.txID, want)
	}
	var msg txpb.Message
	if err := proto.Unmarshal(p.data, &msg); err != nil {
		return nil, ErrTxDecode.Wrapf("message: %v", err)
	}
	spec, ok := Spec(&msg)
	if !ok {
		return nil, ErrUnknownMessage.Wrapf("transaction %s carries no message this version knows", p.txID)
	}
	return &Tx{
		ID:         p.txID,
		nonce:      p.nonce,
		creator:    p.creator,
		Ledger:     p.channelID,
		ChainID:    p.chainID,
		Timestamp:  ts.AsTime(),
		MSPID:      p.mspid,
		Creator:    c.pub,
		Cert:       c.cert,
		CertRef:    c.certRef,
		CertRefErr: c.certRefErr,
		Sender:     c.addr,
		Msg:        &msg,
		Spec:       spec,
		payload:    p.payload,
		signature:  p.signature,
	}, nil
}

// creators remembers parsed creators by their id_bytes: the same few
// thousand identities sign every transaction, and parsing a certificate
// costs more than the rest of the decoding. The parsed keys and
// certificates are immutable, so entries are shared by every transaction
// and goroutine.
var creators = memo.NewMap[string, parsedCreator](50_000)

type parsedCreator struct {
	pub        *gmcrypto.PublicKey
	cert       *gmcrypto.Certificate
	certRef    []byte
	certRefErr error
	addr       gmcrypto.Address
}

func parseCreatorCached(idBytes []byte) (parsedCreator, error) {
	if p, ok := creators.Get(string(idBytes)); ok {
		return p, nil
	}
	p, err := parseCreator(idBytes)
	if err != nil {
		return parsedCreator{}, err
	}
	p.addr = p.pub.Address()
	creators.Put(string(idBytes), p)
	return p, nil
}

// parseCreator reads id_bytes: an SM2 certificate (the normal case), an
// SM2 public key naming a certificate by its hash, or a bare SM2 public key
// (organisations without a registered root CA).
func parseCreator(idBytes []byte) (parsedCreator, error) {
	block, _ := pem.Decode(idBytes)
	if block == nil {
		return parsedCreator{}, fmt.Errorf("id_bytes is not PEM")
	}
	switch block.Type {
	case "CERTIFICATE":
		c, err := gmcrypto.ParseCertificatePEM(idBytes)
		if err != nil {
			return parsedCreator{}, err
		}
		return parsedCreator{pub: c.PublicKey(), cert: c}, nil
	case "PUBLIC KEY":
		k, err := gmcrypto.ParsePublicKeyPEM(idBytes)
		if err != nil {
			return parsedCreator{}, err
		}
		p := parsedCreator{pub: k}
		if len(block.Headers) > 0 {
			p.certRef, p.certRefErr = certRefOf(k, block, idBytes)
		}
		return p, nil
	default:
		return parsedCreator{}, fmt.Errorf("unsupported identity PEM type %q", block.Type)
	}
}

// CertRefHeader is the PEM header of a public key that names its
// certificate: the 64 lowercase hex digits of SM3 over the certificate's
// DER (docs/adr/0025-certificate-references.md).
const CertRefHeader = "Certificate-SM3"

// certRefOf reads the hash a public key PEM names. The form is exactly
// what NamedCertPEM writes: one Certificate-SM3 header of 32 bytes in
// lowercase hex, the key, nothing else, so that one key naming one
// certificate has one encoding.
func certRefOf(k *gmcrypto.PublicKey, block *pem.Block, idBytes []byte) ([]byte, error) {
	v, ok := block.Headers[CertRefHeader]
	if !ok || len(block.Headers) != 1 {
		return nil, fmt.Errorf("public key PEM headers %s: want exactly one, %s", headerNames(block.Headers), CertRefHeader)
	}
	ref, err := hex.DecodeString(v)
	if err != nil || len(ref) != gmcrypto.HashSize || hex.EncodeToString(ref) != v {
		return nil, fmt.Errorf("%s %q: want %d lowercase hex digits", CertRefHeader, v, 2*gmcrypto.HashSize)
	}
	if !bytes.Equal(NamedCertPEM(k, [gmcrypto.HashSize]byte(ref)), idBytes) {
		return nil, fmt.Errorf("public key PEM naming certificate %s is not in its canonical form (one header, 64-column base64, no trailing bytes)", v)
	}
	return ref, nil
}

func headerNames(h map[string]string) string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, strconv.Quote(n))
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// NamedCertPEM is the creator id_bytes of a signer that names its
// certificate, of SM3 hash certHash, instead of carrying it: its public
// key as a PKIX PEM block with one Certificate-SM3 header.
func NamedCertPEM(pub *gmcrypto.PublicKey, certHash [gmcrypto.HashSize]byte) []byte {
	block, _ := pem.Decode(pub.MarshalPEM())
	block.Headers = map[string]string{CertRefHeader: hex.EncodeToString(certHash[:])}
	return pem.EncodeToMemory(block)
}

// VerifySignature checks the creator's SM2 signature over the payload bytes.
func (t *Tx) VerifySignature() error {
	if !t.Creator.Verify(t.payload, t.signature) {
		return ErrBadSignature.Wrapf("tx %s: SM2 signature of %s does not verify", t.ID, t.Sender)
	}
	return nil
}

// TxID is hex(SM3(nonce ‖ creator)).
func TxID(nonce, creator []byte) string {
	h := gmcrypto.SM3(nonce, creator)
	return hex.EncodeToString(h[:])
}

// ParseTxID reads a transaction id in TxID's form (lowercase hex of 32
// bytes); ok is false for anything else. Contracts name their objects by
// the id of the transaction that created them.
func ParseTxID(s string) (id []byte, ok bool) {
	id, err := hex.DecodeString(s)
	if err != nil || len(id) != gmcrypto.HashSize || hex.EncodeToString(id) != s {
		return nil, false
	}
	return id, true
}

// TxIDForm describes TxID's form, for refusals.
var TxIDForm = fmt.Sprintf("a transaction id of %d lowercase hex digits", 2*gmcrypto.HashSize)

// Signer is what BuildTx needs of a key.
type Signer struct {
	Key   *gmcrypto.PrivateKey
	MSPID string // organisation id
	// CertPEM is the signer's certificate; when empty the envelope carries
	// the bare public key.
	CertPEM []byte
	// IDBytes, when set, is the creator's id_bytes as they are: NamingCert
	// sets them; tests set them to play a signer with a crafted identity.
	IDBytes []byte
	// CertRef, set by NamingCert, is the SM3 hash of the certificate
	// IDBytes names: what a client asks the node about (/certificate).
	CertRef []byte
}

// NamingCert returns s signing with its public key naming its
// certificate by SM3 hash instead of carrying the certificate: envelopes
// about 450 bytes smaller, which a chain accepts once it has recorded the
// certificate (any executed transaction that carried it records it;
// docs/adr/0025-certificate-references.md).
func (s Signer) NamingCert() (Signer, error) {
	if len(s.CertPEM) == 0 {
		return Signer{}, fmt.Errorf("naming a certificate: the signer has none")
	}
	c, err := gmcrypto.ParseCertificatePEM(s.CertPEM)
	if err != nil {
		return Signer{}, err
	}
	if !c.PublicKey().Equal(s.Key.Public()) {
		return Signer{}, fmt.Errorf("naming a certificate: certificate %s is not of the signer's key", c.Subject())
	}
	h := c.Hash()
	s.IDBytes, s.CertRef = NamedCertPEM(s.Key.Public(), h), h[:]
	return s, nil
}

// BuildTx makes a signed envelope carrying msg for ledger on chainID, stamped
// with at, under a fresh random nonce. It returns the bytes to broadcast and
// the tx id.
func BuildTx(s Signer, chainID, ledgerName string, at time.Time, msg *txpb.Message) ([]byte, string, error) {
	nonce := make([]byte, 24)
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", err
	}
	return BuildTxWithNonce(s, chainID, ledgerName, at, msg, nonce)
}

// BuildTxWithNonce is BuildTx under the caller's nonce. The id is
// hex(SM3(nonce ‖ creator)): two envelopes of one signer under one nonce
// share an id, and the later one is refused as a replay while the earlier
// one's stamp is within the window (the app's replay rule). Tests use it
// to play a signer that reuses a nonce.
func BuildTxWithNonce(s Signer, chainID, ledgerName string, at time.Time, msg *txpb.Message, nonce []byte) ([]byte, string, error) {
	if n := len(nonce); n < MinNonceLen || n > MaxNonceLen {
		return nil, "", fmt.Errorf("build tx: nonce of %d bytes, want %d..%d", n, MinNonceLen, MaxNonceLen)
	}
	idBytes := s.IDBytes
	if len(idBytes) == 0 {
		idBytes = s.CertPEM
	}
	if len(idBytes) == 0 {
		idBytes = s.Key.Public().MarshalPEM()
	}
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: s.MSPID, IdBytes: idBytes})
	if err != nil {
		return nil, "", err
	}
	ext, err := proto.Marshal(&txpb.HeaderExtension{ChainId: chainID})
	if err != nil {
		return nil, "", err
	}
	id := TxID(nonce, creator)
	ch, err := proto.Marshal(&common.ChannelHeader{
		Type:      int32(HeaderTypeJinlian),
		Version:   1,
		Timestamp: timestamppb.New(at),
		ChannelId: ledgerName,
		TxId:      id,
		Extension: ext,
	})
	if err != nil {
		return nil, "", err
	}
	sh, err := proto.Marshal(&common.SignatureHeader{Creator: creator, Nonce: nonce})
	if err != nil {
		return nil, "", err
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return nil, "", err
	}
	payload, err := proto.Marshal(&common.Payload{
		Header: &common.Header{ChannelHeader: ch, SignatureHeader: sh},
		Data:   data,
	})
	if err != nil {
		return nil, "", err
	}
	sig, err := s.Key.Sign(payload)
	if err != nil {
		return nil, "", err
	}
	env, err := proto.Marshal(&common.Envelope{Payload: payload, Signature: sig})
	if err != nil {
		return nil, "", err
	}
	return env, id, nil
}
