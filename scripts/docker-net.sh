#!/bin/sh
# docker-net.sh generates a jinlian network of NODES validators, one
# organisation each (bankA, bankB, ...), the way an operator would by hand
# (docs/quickstart.md, "A real network"): keys with `jinlian keys add`, a draft
# genesis, `jinlian init` per node, then the validators' public keys into the
# final genesis and the peers into each config.toml.
#
# docker-compose.yml runs it once in its `init` service, with node i's home
# at $NET_DIR/node<i> (one volume per node). It is also usable outside Docker:
# with PEER_HOST=127.0.0.1 PORT_STRIDE=10 ALLOW_DUPLICATE_IP=true every node
# gets its own ports on one machine.
#
# A second run over a finished network does nothing; a run over homes that
# hold something else refuses to touch them.
set -eu

NET_DIR=${NET_DIR:-/var/lib/jinlian}
NODES=${NODES:-4}
CHAIN_ID=${CHAIN_ID:-jinlian-docker}
# printf format of the host name under which node i is dialled by its peers
PEER_HOST=${PEER_HOST:-node%d}
LISTEN_HOST=${LISTEN_HOST:-0.0.0.0}
P2P_PORT=${P2P_PORT:-26656}
RPC_PORT=${RPC_PORT:-26657}
# node i listens on P2P_PORT + i*PORT_STRIDE and RPC_PORT + i*PORT_STRIDE
PORT_STRIDE=${PORT_STRIDE:-0}
ALLOW_DUPLICATE_IP=${ALLOW_DUPLICATE_IP:-false}
TIMEOUT_COMMIT=${TIMEOUT_COMMIT:-1s}
FUNDING=${FUNDING:-1000000}
JINLIAN=${JINLIAN:-jinlian}
: "${JINLIAN_PASSPHRASE:?set JINLIAN_PASSPHRASE: it encrypts the demo identities keys}"
export JINLIAN_PASSPHRASE

ORGS="bankA bankB bankC bankD bankE bankF bankG"
MARKER=.jinlian-docker-net

die() { echo "docker-net: $*" >&2; exit 1; }

case $NODES in
[1-7]) ;;
*) die "NODES=$NODES: want 1..7" ;;
esac

org_of() { echo "$ORGS" | cut -d' ' -f"$(($1 + 1))"; }
home_of() { echo "$NET_DIR/node$1"; }

# Flattened JSON (no blanks) makes the key files easy to cut with sed.
flat() { tr -d ' \n\t\r' <"$1"; }

# Finished already? Then there is nothing to do.
done_count=0
i=0
while [ "$i" -lt "$NODES" ]; do
	if [ -f "$(home_of "$i")/$MARKER" ]; then
		done_count=$((done_count + 1))
	elif [ -d "$(home_of "$i")" ] && [ -n "$(ls -A "$(home_of "$i")")" ]; then
		die "$(home_of "$i") is not empty and holds no finished network: remove it (docker compose down -v) and run again"
	fi
	i=$((i + 1))
done
if [ "$done_count" -eq "$NODES" ]; then
	echo "docker-net: network $CHAIN_ID already generated in $NET_DIR, nothing to do"
	exit 0
fi
[ "$done_count" -eq 0 ] || die "only $done_count of $NODES homes are finished: remove them all (docker compose down -v) and run again"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. One identity key per organisation, kept in that organisation's node home
#    (<home>/keys/<org>.json), so `jinlian tx ... --from <org>` works there.
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	home=$(home_of "$i")
	mkdir -p "$home"
	"$JINLIAN" --home "$home" keys add "$org" --org "$org" -o json >"$work/$org.key.json"
	sed -n 's/.*"address": *"\([0-9a-f]*\)".*/\1/p' "$work/$org.key.json" >"$work/$org.addr"
	[ -s "$work/$org.addr" ] || die "no address in the output of keys add $org"
	i=$((i + 1))
done

# 2. The app_state: organisations, their identities (admin, issuer, member),
#    the payments ledger with CNY (issued by bankA) and USD (by bankB), and an
#    opening CNY balance per identity.
app_state() {
	printf '{\n    "organisations": [\n'
	i=0
	while [ "$i" -lt "$NODES" ]; do
		org=$(org_of "$i")
		[ "$i" -gt 0 ] && printf ',\n'
		printf '      {"id": "%s", "name": "Bank %s"}' "$org" "${org#bank}"
		i=$((i + 1))
	done
	printf '\n    ],\n    "identities": [\n'
	i=0
	while [ "$i" -lt "$NODES" ]; do
		org=$(org_of "$i")
		[ "$i" -gt 0 ] && printf ',\n'
		printf '      {"name": "%s", "address": "%s", "org": "%s", "roles": ["admin", "committee", "issuer", "member"]}' \
			"$org" "$(cat "$work/$org.addr")" "$org"
		i=$((i + 1))
	done
	printf '\n    ],\n    "ledgers": [\n      {\n        "name": "payments",\n        "assets": [\n'
	printf '          {"symbol": "CNY", "issuer": "bankA", "decimals": 2}'
	[ "$NODES" -gt 1 ] && printf ',\n          {"symbol": "USD", "issuer": "bankB", "decimals": 2}'
	printf '\n        ],\n        "balances": [\n'
	i=0
	while [ "$i" -lt "$NODES" ]; do
		org=$(org_of "$i")
		[ "$i" -gt 0 ] && printf ',\n'
		printf '          {"asset": "CNY", "account": "%s", "amount": "%s"}' "$(cat "$work/$org.addr")" "$FUNDING"
		i=$((i + 1))
	done
	printf '\n        ]\n      }\n    ],\n    "validators": [%s\n    ],\n    "params": {"tx_time_window_seconds": 600}\n  }' "$(cat "$work/registrations")"
}

# genesis VALIDATORS_FILE > genesis.json
genesis() {
	cat <<EOF
{
  "genesis_time": "$GENESIS_TIME",
  "chain_id": "$CHAIN_ID",
  "initial_height": "1",
  "consensus_params": {
    "block": {"max_bytes": "4194304", "max_gas": "-1"},
    "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
    "validator": {"pub_key_types": ["ed25519"]},
    "version": {"app": "0"},
    "abci": {"vote_extensions_enable_height": "1"}
  },
  "validators": [$(cat "$1")],
  "app_hash": "",
  "app_state": $(app_state)
}
EOF
}
GENESIS_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# 3. A draft genesis (no validators yet) lets `jinlian init` create each
#    node's config.toml, node key and validator key.
# 3. Keys first: `jinlian init` without a genesis makes config.toml, the node
#    and validator keys and the SM2 node key (encrypted with
#    JINLIAN_PASSPHRASE), and prints the validator's registration.
: >"$work/registrations"
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	"$JINLIAN" --home "$(home_of "$i")" init --moniker "node$i" -o json >"$work/init$i.json"
	vaddr=$(sed -n 's/.*"validator_address": *"\([0-9A-F]*\)".*/\1/p' "$work/init$i.json")
	sm2=$(sed -n 's/.*"sm2_public_key": *"\([0-9a-f]*\)".*/\1/p' "$work/init$i.json")
	{ [ -n "$vaddr" ] && [ -n "$sm2" ]; } || die "no validator registration in the output of init for node$i"
	[ "$i" -gt 0 ] && printf ',' >>"$work/registrations"
	printf '\n      {"name": "node%d", "org": "%s", "address": "%s", "sm2_public_key": "%s"}' "$i" "$org" "$vaddr" "$sm2" >>"$work/registrations"
	i=$((i + 1))
done

# 4. Collect validator public keys and node ids (node id = first 20 bytes of
#    SHA-256 of the node key's ed25519 public key, hex).
: >"$work/validators"
: >"$work/ids"
i=0
while [ "$i" -lt "$NODES" ]; do
	home=$(home_of "$i")
	pv=$(flat "$home/config/priv_validator_key.json")
	addr=$(echo "$pv" | sed -n 's/.*"address":"\([0-9A-F]*\)".*/\1/p')
	pub=$(echo "$pv" | sed -n 's/.*"pub_key":{"type":"tendermint\/PubKeyEd25519","value":"\([^"]*\)"}.*/\1/p')
	if [ -z "$addr" ] || [ -z "$pub" ]; then
		die "cannot read $home/config/priv_validator_key.json"
	fi
	[ "$i" -gt 0 ] && printf ',' >>"$work/validators"
	printf '\n    {"address": "%s", "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "%s"}, "power": "10", "name": "node%d"}' \
		"$addr" "$pub" "$i" >>"$work/validators"
	nk=$(flat "$home/config/node_key.json" | sed -n 's/.*"priv_key":{"type":"tendermint\/PrivKeyEd25519","value":"\([^"]*\)"}.*/\1/p')
	[ -n "$nk" ] || die "cannot read $home/config/node_key.json"
	echo "$nk" | base64 -d | tail -c 32 | sha256sum | cut -c1-40 >>"$work/ids"
	i=$((i + 1))
done
printf '\n  ' >>"$work/validators"
genesis "$work/validators" >"$work/genesis.json"

# 5. The final genesis replaces the draft; `jinlian init` validates it again
#    and keeps the keys and config.toml it made in step 3.
i=0
while [ "$i" -lt "$NODES" ]; do
	home=$(home_of "$i")
	"$JINLIAN" --home "$home" init --genesis "$work/genesis.json" --moniker "node$i" >/dev/null
	i=$((i + 1))
done

# 6. config.toml: listen addresses, every other node as a persistent peer,
#    PEX off (the peer set is static and complete).
i=0
while [ "$i" -lt "$NODES" ]; do
	home=$(home_of "$i")
	peers=""
	j=0
	while [ "$j" -lt "$NODES" ]; do
		if [ "$j" -ne "$i" ]; then
			# shellcheck disable=SC2059 # PEER_HOST is a printf format on purpose
			host=$(printf "$PEER_HOST" "$j")
			id=$(sed -n "$((j + 1))p" "$work/ids")
			peers="${peers:+$peers,}$id@$host:$((P2P_PORT + j * PORT_STRIDE))"
		fi
		j=$((j + 1))
	done
	sed -i \
		-e "/^\[rpc\]/,/^\[/ s|^laddr = .*|laddr = \"tcp://$LISTEN_HOST:$((RPC_PORT + i * PORT_STRIDE))\"|" \
		-e "/^\[p2p\]/,/^\[/ s|^laddr = .*|laddr = \"tcp://$LISTEN_HOST:$((P2P_PORT + i * PORT_STRIDE))\"|" \
		-e "s|^persistent_peers = .*|persistent_peers = \"$peers\"|" \
		-e "s|^pex = .*|pex = false|" \
		-e "s|^addr_book_strict = .*|addr_book_strict = false|" \
		-e "s|^allow_duplicate_ip = .*|allow_duplicate_ip = $ALLOW_DUPLICATE_IP|" \
		-e "s|^timeout_commit = .*|timeout_commit = \"$TIMEOUT_COMMIT\"|" \
		"$home/config/config.toml"
	grep -q "^persistent_peers = \"$peers\"$" "$home/config/config.toml" || die "could not set persistent_peers in $home/config/config.toml"
	i=$((i + 1))
done

i=0
while [ "$i" -lt "$NODES" ]; do
	echo "$CHAIN_ID" >"$(home_of "$i")/$MARKER"
	i=$((i + 1))
done

echo "docker-net: generated chain $CHAIN_ID with $NODES validators in $NET_DIR"
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	echo "  node$i  id $(sed -n "$((i + 1))p" "$work/ids")  identity $org $(cat "$work/$org.addr")  key $(home_of "$i")/keys/$org.json"
	i=$((i + 1))
done
