#!/usr/bin/env bash
# Two libvirt "hosts" on one machine, for the libvirt runner's tests.
#
#   libvirt-hosts.sh start STATE_DIR    start hosts a and b, write STATE_DIR/env
#   libvirt-hosts.sh stop STATE_DIR     stop everything start started
#
# Each host is a libvirtd in its own network namespace (migbench-virt-PID-a,
# -b) and its own private mount namespace, where STATE_DIR/H/{run,lib,cache,
# log,etc} are bind-mounted over /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt, /var/log/libvirt and /etc/libvirt. The namespaces are
# joined by a bridge in the root namespace (mbbrPID), with a veth pair from
# it to each: host a is 10.231.N.1/24, b 10.231.N.2/24, the root namespace
# 10.231.N.254/24 (N: 0, or the first subnet no other start of this script
# has taken on this machine). A migration from a to b crosses veth, bridge,
# veth between two addresses; the root namespace, where migbench runs,
# reaches both hosts like other machines of its network. Each libvirtd
# listens on TCP (no auth, no TLS) on its host's address:
#   qemu+tcp://10.231.N.1/system      (from the root namespace or the other host)
# and on a UNIX socket in STATE_DIR/H that the root namespace reaches:
#   qemu+unix:///system?socket=STATE_DIR/a/libvirt-sock
# STATE_DIR/env (shell) holds the URIs (MB_VIRT_A_URI the UNIX one,
# MB_VIRT_A_TCP the TCP one), addresses, namespaces, pid and log paths.
# QEMU's per-domain pid file is STATE_DIR/H/run/qemu/DOMAIN.pid and its log
# STATE_DIR/H/log/qemu/DOMAIN.log.
#
# stop kills every process in the two network namespaces (libvirtd and the
# QEMUs it started) by PID, then deletes the namespaces (and with them the
# veth pairs) and the bridge; the mount namespaces go away with their last
# process. It is safe to run twice and after a start that failed half way.
#
# Exit status: 0 done, 1 failure (the message names the host, the reason and
# the log), 2 bad usage, 77 libvirtd (or virsh, or its QEMU driver) is not
# installed or this is not root (tests treat 77 as skip).
# Environment: MB_VIRT_START_TIMEOUT (s, default 60) per daemon.
set -euo pipefail

me=libvirt-hosts.sh
die() { echo "$me: $*" >&2; exit 1; }
skip() { echo "$me: SKIP: $*" >&2; exit 77; }
usage() { echo "usage: $me start|stop STATE_DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
mkdir -p -- "$2" || die "cannot create state directory '$2'"
state=$(cd -- "$2" && pwd -P)
case $state in
*[[:space:],\;\'\"\\]*) die "state directory '$state' contains a space, comma, quote or backslash (QEMU and libvirt URIs split on those)" ;;
esac
# unix_sock_dir + "/libvirt-admin-sock" must fit in sun_path (108 bytes)
[ ${#state} -le 80 ] || die "state directory '$state' is longer than 80 characters (UNIX socket paths are limited to 108)"

hosts=(a b)
# set by pick_subnet (start) or read from STATE_DIR/env (stop)
declare -A addr=([a]=10.231.0.1 [b]=10.231.0.2)
root_addr=10.231.0.254
prefix=24
lock=/run/lock/migbench-virt-hosts.lock
timeout_s=${MB_VIRT_START_TIMEOUT:-60}

unix_uri() { echo "qemu+unix:///system?socket=$state/$1/libvirt-sock"; }
tcp_uri() { echo "qemu+tcp://${addr[$1]}/system"; }

# ---- stop -------------------------------------------------------------------

# Every PID in network namespace $1 (ip netns pids), plus the pid files.
ns_pids() {
	local ns=$1 h=$2 f
	{
		ip netns pids "$ns" 2>/dev/null || true
		for f in "$state/$h/libvirtd.pid" "$state/$h"/run/qemu/*.pid; do
			[ -f "$f" ] || continue
			# only if that process is still in our namespace: a stale pid
			# file must not make us kill someone else's process
			local p
			p=$(tr -dc 0-9 <"$f")
			[ -n "$p" ] || continue
			if [ -e "/run/netns/$ns" ] && [ "$(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null)" = "$(stat -L -c %i "/run/netns/$ns")" ]; then
				echo "$p"
			fi
		done
	} | sort -un
}

do_stop() {
	local h ns pids left _
	if [ ! -f "$state/netns" ]; then
		if [ -f "$state/bridge" ]; then
			local br
			br=$(cat "$state/bridge")
			if [ -n "$br" ] && ip link show "$br" >/dev/null 2>&1; then
				ip link del "$br" || die "cannot delete bridge $br"
			fi
			rm -f "$state/bridge"
		fi
		echo "$me: nothing to stop in $state"
		return 0
	fi
	# QEMUs first (SIGTERM is a clean quit for them), then libvirtd, then
	# whatever is left, with SIGKILL after 10 s.
	local -a all=()
	while read -r h ns; do
		[ -n "$ns" ] || continue
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ns_pids "$ns" "$h")
		[ -n "$pids" ] || continue
		local lvd=""
		[ -f "$state/$h/libvirtd.pid" ] && lvd=$(tr -dc 0-9 <"$state/$h/libvirtd.pid")
		for p in $pids; do
			[ "$p" = "$lvd" ] && continue
			kill -TERM "$p" 2>/dev/null || true
		done
		local -a more
		mapfile -t more <<<"$pids"
		all+=("${more[@]}")
	done <"$state/netns"
	sleep 0.3
	while read -r h ns; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		for p in $(ns_pids "$ns" "$h"); do kill -TERM "$p" 2>/dev/null || true; done
	done <"$state/netns"
	for _ in $(seq 100); do
		left=""
		for p in "${all[@]}"; do
			kill -0 "$p" 2>/dev/null && left+=" $p"
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in $left; do
		echo "$me: process $p did not end on SIGTERM within 10 s: SIGKILL" >&2
		kill -KILL "$p" 2>/dev/null || true
	done
	# anything that appeared meanwhile (a QEMU libvirtd was just starting)
	while read -r h ns; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		for p in $(ns_pids "$ns" "$h"); do kill -KILL "$p" 2>/dev/null || true; done
	done <"$state/netns"
	sleep 0.2
	local rc=0
	while read -r h ns; do
		[ -n "$ns" ] || continue
		if [ -e "/run/netns/$ns" ]; then
			left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
			[ -z "$left" ] || { echo "$me: host $h: processes still in $ns: $left" >&2; rc=1; }
			# deleting a namespace deletes the veth end in it, and the peer
			ip netns del "$ns" 2>/dev/null || { echo "$me: host $h: cannot delete network namespace $ns" >&2; rc=1; }
		fi
		rm -f "$state/$h/libvirtd.pid"
	done <"$state/netns"
	if [ -f "$state/bridge" ]; then
		local br
		br=$(cat "$state/bridge")
		if [ -n "$br" ] && ip link show "$br" >/dev/null 2>&1; then
			ip link del "$br" || { echo "$me: cannot delete bridge $br" >&2; rc=1; }
		fi
		[ $rc -ne 0 ] || rm -f "$state/bridge"
	fi
	[ $rc -eq 0 ] || return 1
	rm -f "$state/netns" "$state/env"
	echo "$me: stopped (state kept in $state)"
}

# ---- start ------------------------------------------------------------------

write_confs() {
	local h=$1 d=$state/$1
	mkdir -p "$d"/{run,lib,cache,log,etc}
	rm -rf "${d:?}/etc"
	mkdir -p "$d/etc"
	cp -a /etc/libvirt/. "$d/etc/"
	cat >"$d/etc/libvirtd.conf" <<EOF
# written by $me for host $h
listen_tls = 0
listen_tcp = 1
listen_addr = "${addr[$h]}"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_dir = "$d"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "3:file:$d/libvirtd.log"
EOF
	cat >"$d/etc/qemu.conf" <<'EOF'
# written by libvirt-hosts.sh; each setting was needed (see libvirt-hosts.md)
stdio_handler = "file"
security_driver = "none"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
EOF
}

# The first 10.231.N.0/24 (N = 0..99) that no interface of the root
# namespace has: another start of this script (a test and a campaign at
# once) has the one it took. Called under the lock.
pick_subnet() {
	local n
	for n in $(seq 0 99); do
		if ! ip -4 -o addr show | grep -q " 10\.231\.$n\."; then
			addr=([a]=10.231.$n.1 [b]=10.231.$n.2)
			root_addr=10.231.$n.254
			return 0
		fi
	done
	return 1
}

# Starts libvirtd of host $1 in netns $2; prints its PID.
start_daemon() {
	local h=$1 ns=$2 d=$state/$1 m
	local mounts=""
	for m in run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt; do
		mkdir -p "${m#*:}"
		mounts+="mount --bind '$d/${m%%:*}' '${m#*:}' && "
	done
	: >"$d/libvirtd.out"
	# ip netns exec and unshare (without --fork) exec, and so does sh: $!
	# is libvirtd itself. setsid: not in the caller's process group (a
	# test's Ctrl-C goes to the test, stop ends the daemons).
	setsid ip netns exec "$ns" unshare -m --propagation private \
		sh -c "${mounts}exec /usr/sbin/libvirtd --listen -f '$d/etc/libvirtd.conf' -p '$d/libvirtd.pid'" \
		</dev/null >>"$d/libvirtd.out" 2>&1 &
	echo $!
}

fail_start() {
	echo "$me: $*" >&2
	echo "$me: cleaning up what was started" >&2
	do_stop >&2 || true
	exit 1
}

do_start() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network and mount namespaces)"
	[ -x /usr/sbin/libvirtd ] || skip "libvirtd not installed (Debian: apt-get install libvirt-daemon libvirt-daemon-driver-qemu, or run .ci/setup)"
	compgen -G '/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so' >/dev/null ||
		skip "libvirt's QEMU driver not installed (Debian: apt-get install libvirt-daemon-driver-qemu)"
	getent passwd libvirt-qemu >/dev/null && getent group libvirt-qemu >/dev/null ||
		skip "libvirtd's QEMU driver needs the user and group libvirt-qemu (run .ci/setup, or install libvirt-daemon-system)"
	command -v virsh >/dev/null || skip "virsh not installed (Debian: apt-get install libvirt-clients)"
	command -v ip >/dev/null && command -v unshare >/dev/null || skip "ip (iproute2) or unshare (util-linux) missing"
	# A minimal Debian root (mmdebstrap) has no mount(8): package "mount".
	command -v mount >/dev/null || skip "mount not installed (Debian: apt-get install mount, or run .ci/setup)"

	if [ -f "$state/netns" ]; then
		local h ns
		while read -r h ns; do
			if [ -e "/run/netns/$ns" ]; then
				die "$state is in use (network namespace $ns exists): run '$me stop $state' first"
			fi
		done <"$state/netns"
		rm -f "$state/netns"
	fi
	rm -f "$state/env"

	local tag=$$ h
	declare -A ns pid
	for h in "${hosts[@]}"; do
		ns[$h]=migbench-virt-$tag-$h
	done
	# Recorded before anything exists, so stop can clean up a half start.
	for h in "${hosts[@]}"; do echo "$h ${ns[$h]}"; done >"$state/netns"
	trap 'fail_start "interrupted"' INT TERM

	for h in "${hosts[@]}"; do
		ip netns add "${ns[$h]}" || fail_start "host $h: ip netns add ${ns[$h]} failed"
		ip -n "${ns[$h]}" link set lo up || fail_start "host $h: cannot bring lo up in ${ns[$h]}"
	done
	# The bridge in the root namespace and a veth pair to each host. The
	# subnet is chosen and the bridge's address set under a lock, so that
	# two starts at once take two subnets.
	local br=mbbr$tag
	local -A veth=([a]=mbva$tag [b]=mbvb$tag) rveth=([a]=mbra$tag [b]=mbrb$tag)
	echo "$br" >"$state/bridge"
	# A fresh root has no /run/lock until something makes it.
	mkdir -p "${lock%/*}" || fail_start "cannot create ${lock%/*} for the lock file"
	exec 9>"$lock" || fail_start "cannot open lock file $lock"
	flock -w 30 9 || fail_start "another libvirt-hosts.sh start held $lock for 30 s"
	pick_subnet || { exec 9>&-; fail_start "no free subnet 10.231.N.0/24 (N 0-99) in the root namespace"; }
	ip link add "$br" type bridge &&
		ip addr add "$root_addr/$prefix" dev "$br" &&
		ip link set "$br" up || { exec 9>&-; fail_start "cannot create bridge $br with $root_addr/$prefix"; }
	exec 9>&-
	for h in "${hosts[@]}"; do
		ip link add "${rveth[$h]}" type veth peer name "${veth[$h]}" netns "${ns[$h]}" ||
			fail_start "host $h: cannot create veth pair ${rveth[$h]}/${veth[$h]} into ${ns[$h]}"
		ip link set "${rveth[$h]}" master "$br" && ip link set "${rveth[$h]}" up ||
			fail_start "host $h: cannot attach ${rveth[$h]} to bridge $br"
		ip -n "${ns[$h]}" addr add "${addr[$h]}/$prefix" dev "${veth[$h]}" &&
			ip -n "${ns[$h]}" link set "${veth[$h]}" up ||
			fail_start "host $h: cannot configure ${veth[$h]} in ${ns[$h]}"
	done

	local t0 t1
	t0=$(date +%s.%N)
	for h in "${hosts[@]}"; do
		write_confs "$h" || fail_start "host $h: cannot write its configuration under $state/$h"
		rm -f "$state/$h/libvirtd.pid" "$state/$h/libvirtd.log"
		pid[$h]=$(start_daemon "$h" "${ns[$h]}")
	done
	# Both start in parallel; wait for each to answer.
	local deadline out
	deadline=$(($(date +%s) + timeout_s))
	for h in "${hosts[@]}"; do
		while :; do
			if ! kill -0 "${pid[$h]}" 2>/dev/null; then
				fail_start "host $h: libvirtd (pid ${pid[$h]}) exited during start-up; see $state/$h/libvirtd.log and $state/$h/libvirtd.out:
$(tail -n 5 "$state/$h/libvirtd.out" "$state/$h/libvirtd.log" 2>/dev/null)"
			fi
			if out=$(timeout 10 virsh -q -c "$(unix_uri "$h")" version 2>&1); then
				break
			fi
			if [ "$(date +%s)" -ge "$deadline" ]; then
				fail_start "host $h: libvirtd (pid ${pid[$h]}) did not answer on $(unix_uri "$h") within ${timeout_s} s (last error: $(echo "$out" | tail -n 1)); see $state/$h/libvirtd.log"
			fi
			sleep 0.2
		done
		local p
		p=$(tr -dc 0-9 <"$state/$h/libvirtd.pid" 2>/dev/null || true)
		[ "$p" = "${pid[$h]}" ] ||
			fail_start "host $h: libvirtd's pid file says '$p', expected ${pid[$h]}"
	done
	# TCP: each must reach the other across the veth link
	for h in "${hosts[@]}"; do
		local o=b
		[ "$h" = b ] && o=a
		out=$(timeout 10 ip netns exec "${ns[$h]}" virsh -q -c "$(tcp_uri "$o")" uri 2>&1) ||
			fail_start "host $h cannot reach host $o's libvirtd at $(tcp_uri "$o"): $out; see $state/$o/libvirtd.log"
		# and migbench, in the root namespace, each host
		out=$(timeout 10 virsh -q -c "$(tcp_uri "$h")" uri 2>&1) ||
			fail_start "the root namespace cannot reach host $h's libvirtd at $(tcp_uri "$h") through bridge $br: $out; see $state/$h/libvirtd.log"
	done
	t1=$(date +%s.%N)
	trap - INT TERM

	{
		echo "# written by $me start; source it"
		for h in "${hosts[@]}"; do
			local H=${h^^}
			echo "MB_VIRT_${H}_URI='$(unix_uri "$h")'"
			echo "MB_VIRT_${H}_TCP='$(tcp_uri "$h")'"
			echo "MB_VIRT_${H}_ADDR='${addr[$h]}'"
			echo "MB_VIRT_${H}_NETNS='${ns[$h]}'"
			echo "MB_VIRT_${H}_VETH='${veth[$h]}'"
			echo "MB_VIRT_${H}_DIR='$state/$h'"
			echo "MB_VIRT_${H}_PID='${pid[$h]}'"
			echo "MB_VIRT_${H}_LOG='$state/$h/libvirtd.log'"
			echo "MB_VIRT_${H}_QEMU_RUN='$state/$h/run/qemu'"
			echo "MB_VIRT_${H}_QEMU_LOG='$state/$h/log/qemu'"
		done
		echo "MB_VIRT_PREFIX='$prefix'"
		echo "MB_VIRT_BRIDGE='$br'"
		echo "MB_VIRT_ROOT_ADDR='$root_addr'"
		echo "MB_VIRT_STATE='$state'"
	} >"$state/env.tmp"
	mv "$state/env.tmp" "$state/env"
	printf '%s: hosts a (%s, pid %s) and b (%s, pid %s) up in %.1f s; env: %s\n' "$me" \
		"${addr[a]}" "${pid[a]}" "${addr[b]}" "${pid[b]}" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$state/env"
}

case $cmd in
start) do_start ;;
stop) do_stop ;;
*) usage ;;
esac
