#!/bin/sh
# docker-start.sh starts one node of docker-compose.yml: it waits until the
# host names in its persistent_peers resolve, then execs `jinlian start`.
#
# CometBFT resolves persistent_peers once, when the node starts, and skips a
# name that does not resolve yet (it never dials it). In Compose a service's
# name resolves only once its container runs, so the nodes, started together,
# wait for each other here (at most PEER_WAIT_SECONDS, then start anyway).
set -eu

home=${JINLIAN_HOME:?set JINLIAN_HOME to the node home}
wait_s=${PEER_WAIT_SECONDS:-60}

peers=$(sed -n 's/^persistent_peers = "\(.*\)"$/\1/p' "$home/config/config.toml")
deadline=$(($(date +%s) + wait_s))
for peer in $(echo "$peers" | tr ',' ' '); do
	host=${peer#*@}
	host=${host%:*}
	until getent hosts "$host" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "docker-start: peer host $host does not resolve after ${wait_s}s; starting anyway" >&2
			break
		fi
		sleep 1
	done
done

exec jinlian start "$@"
