#!/bin/sh
# docker-net.sh generates a jinlian network of NODES validators, one
# organisation each (bankA, bankB, ...), the way an operator would by hand
# (docs/quickstart.md, "A real network"): keys with `jinlian keys add`,
# `jinlian init` per node for its registration, the genesis with the
# `jinlian genesis` commands, `jinlian init --genesis` per node, and the
# peers into each config.toml.
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

# 2. Each node's keys: `jinlian init` makes config.toml, the node and
#    validator keys, the SM2 node key and the checkpoint key (encrypted with
#    JINLIAN_PASSPHRASE), and writes the node's registration for the genesis.
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	"$JINLIAN" --home "$(home_of "$i")" init --moniker "node$i" --org "$org" --chain-id "$CHAIN_ID" \
		--registration-out "$work/reg$i.json" >/dev/null
	sed -n 's/.*"node_id": *"\([0-9a-f]*\)".*/\1/p' "$work/reg$i.json" >>"$work/ids"
	i=$((i + 1))
done
[ "$(wc -l <"$work/ids")" -eq "$NODES" ] || die "no node id in the registrations written by jinlian init"

# 3. The genesis, with the genesis commands (docs/quickstart.md): the
#    organisations (no root CA: the demo identities sign with bare keys),
#    every validator with its node and checkpoint key, one identity per
#    organisation with the committee, admin, issuer and member roles, and
#    the payments ledger with CNY (issued by bankA) and USD (by bankB) and an
#    opening CNY balance per identity.
gen="$work/genesis.json"
"$JINLIAN" genesis new --chain-id "$CHAIN_ID" --genesis "$gen" >/dev/null
members=""
balances=""
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	"$JINLIAN" genesis add-org "$org" --name "Bank ${org#bank}" --genesis "$gen" >/dev/null
	members="${members:+$members,}$org"
	i=$((i + 1))
done
i=0
while [ "$i" -lt "$NODES" ]; do
	org=$(org_of "$i")
	addr=$(cat "$work/$org.addr")
	"$JINLIAN" genesis add-validator "$work/reg$i.json" --org "$org" --genesis "$gen" >/dev/null
	"$JINLIAN" genesis grant "$addr" --org "$org" --roles admin,committee,issuer,member --name "$org" --genesis "$gen" >/dev/null
	balances="$balances --balance CNY:$addr:$FUNDING"
	i=$((i + 1))
done
usd=""
[ "$NODES" -gt 1 ] && usd="--asset USD:bankB:2"
# shellcheck disable=SC2086 # $usd and $balances are lists of flags
"$JINLIAN" genesis add-ledger payments --members "$members" --asset CNY:bankA:2 $usd $balances --genesis "$gen" >/dev/null
"$JINLIAN" genesis validate "$gen" >/dev/null

# 4. The final genesis goes into every home; `jinlian init` validates it
#    again and keeps the keys and config.toml it made in step 2.
i=0
while [ "$i" -lt "$NODES" ]; do
	"$JINLIAN" --home "$(home_of "$i")" init --genesis "$gen" >/dev/null
	i=$((i + 1))
done

# 5. config.toml: listen addresses, every other node as a persistent peer,
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
