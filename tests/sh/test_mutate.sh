#!/bin/sh
# Fault injection (issue 5): clean base traces (simulated from tests/data/scenarios/mut-*.scn,
# and the real POWER8 recording tests/data/power-lab/p8-hpt.data imported) replay with no
# violation; each named mutation of build/tests/helper_mutate is then reported by the right
# monitor, at the event the helper names, and nothing else is reported. A mutation that needs
# a layer-2 monitor is skipped until `hvtrace replay` lists that monitor. An injected `lost`
# window gives no violation and a larger unverified share.
. tests/sh/lib.sh
M=$TOP/$BUILD/tests/helper_mutate
S=$TOP/tests/data/scenarios

# violations DB: "monitor@seq ..." sorted by seq then monitor
violations() {
	"$HVTRACE" sql "$1" "SELECT monitor || '@' || seq FROM violation ORDER BY seq, monitor" | tail -n +2 | tr '\n' ' ' |
		sed 's/ $//'
}

base() { # NAME SCENARIO [simulate args...]: simulate, replay; ok if clean
	n=$1; scn=$2; shift 2
	if "$HVTRACE" simulate "$S/$scn.scn" -o "$T/$n.db" "$@" > /dev/null 2> "$T/$n.err" &&
		"$HVTRACE" replay "$T/$n.db" > "$T/$n.replay" 2>&1; then
		ok "base $n ($scn.scn${*:+ $*}) replays with zero violations"
		return 0
	fi
	not_ok "base $n ($scn.scn${*:+ $*}) replays with zero violations" "$(violations "$T/$n.db" | cut -c1-200)"
	return 1
}

# has_monitor BASE NAME: the replay summary of BASE lists monitor NAME
has_monitor() { grep -q "^$2 " "$T/$1.replay"; }

# expect BASE MUTATION MONITOR [TWIN]: exactly one violation, by MONITOR, at the seq the helper
# printed; TWIN (a layer-2/3 monitor that checks the same rule) may report the same event too.
expect() {
	b=$1; mu=$2; mon=$3; twin=$4
	name="$mu on $b: reported by $mon at the mutated event, nothing else"
	sum0=$(cksum < "$T/$b.db")
	seq=$("$M" "$T/$b.db" "$T/$b-$mu.db" "$mu" 2> "$T/err")
	if [ $? -ne 0 ] || [ -z "$seq" ]; then not_ok "$name" "helper_mutate: $(cat "$T/err")"; return; fi
	[ "$(cksum < "$T/$b.db")" = "$sum0" ] || { not_ok "$name" "the input database changed"; return; }
	"$HVTRACE" replay "$T/$b-$mu.db" > "$T/out" 2>&1
	rc=$?
	got=$(violations "$T/$b-$mu.db")
	rest=$got
	[ -n "$twin" ] && rest=$(echo "$got" | tr ' ' '\n' | grep -v "^$twin@$seq\$" | tr '\n' ' ' | sed 's/ $//')
	if [ $rc -eq 1 ] && [ "$rest" = "$mon@$seq" ]; then ok "$name"
	else not_ok "$name" "rc=$rc, want $mon@$seq${twin:+ (+ $twin@$seq)}, got: $(echo "$got" | cut -c1-300)"; fi
}

# expect_l2 BASE MUTATION MONITOR [TWIN]: the same, once replay has the layer-2 monitor
expect_l2() {
	if has_monitor "$1" "$3"; then expect "$@"
	else skip "$2 on $1: reported by $3 at the mutated event, nothing else" "needs layer-2 monitor $3"; fi
}

cede=0; split=0; dmm2=0; e31=0; p8=0
base cede mut-cede && cede=1
base split mut-split && split=1
base dmm2 mut-split --param dynamic_mt_modes=2 && dmm2=1
if "$HVTRACE" import "$TOP/tests/data/power-lab/p8-hpt.data" -o "$T/p8.db" > /dev/null 2>&1 &&
	"$HVTRACE" replay "$T/p8.db" > "$T/p8.replay" 2>&1; then
	ok "base p8 (power-lab/p8-hpt.data imported) replays with zero violations"; p8=1
else
	not_ok "base p8 (power-lab/p8-hpt.data imported) replays with zero violations" "$(violations "$T/p8.db" | cut -c1-200)"
fi

# Layer 1 (stock events). block_rule (layer 2) checks the same rule as vcore_block.
if [ $cede = 1 ]; then
	expect cede drop-guest-exit vcpu_guest
	expect cede swap-guest-pair core_window
	expect cede exit-outside-window vcpu_guest
	expect cede two-windows vcpu_guest
	expect cede block-sibling-runs vcore_block block_rule
	expect cede run-enter-no-exit vcpu_run
	expect cede hcall-exit-no-enter vcpu_run
fi
if [ $split = 1 ]; then
	# the exit of a piggybacked vcpu in the next window: vcpu_guest when the vcpu is
	# attributed to its VM (its window closed without it), core_window when it is not
	seq=$("$M" "$T/split.db" "$T/split-msv.db" move-split-vcpu 2> "$T/err")
	"$HVTRACE" replay "$T/split-msv.db" > /dev/null 2>&1
	got=$(violations "$T/split-msv.db")
	case "$got" in
	"vcpu_guest@$seq" | "core_window@$seq") ok "move-split-vcpu on split: reported at the mutated event ($got), nothing else" ;;
	*) not_ok "move-split-vcpu on split: reported at the mutated event, nothing else" "want vcpu_guest@$seq or core_window@$seq, got: $got" ;;
	esac
	expect split split3-smt4 core_window
fi
if [ $p8 = 1 ]; then
	expect p8 drop-guest-exit vcpu_guest
	expect p8 exit-outside-window vcpu_guest
	expect p8 run-enter-no-exit vcpu_run
	expect p8 hcall-exit-no-enter vcpu_run
fi

# Layer 2 (decision events, profile rules); diff_replay (layer 3) may name the same decision.
[ $dmm2 = 1 ] && expect_l2 dmm2 split4-dmm2 split_mode diff_replay
# E31: the base must replay clean first (checked only once start_rule exists)
if "$HVTRACE" simulate "$S/mut-e31.scn" -o "$T/e31.db" > /dev/null 2>&1; then
	"$HVTRACE" replay "$T/e31.db" > "$T/e31.replay" 2>&1
	if has_monitor e31 start_rule; then
		[ "$(violations "$T/e31.db")" = "" ] && ok "base e31 (mut-e31.scn) replays with zero violations" ||
			not_ok "base e31 (mut-e31.scn) replays with zero violations" "$(violations "$T/e31.db" | cut -c1-200)"
	fi
	expect_l2 e31 e31-start-busy start_rule diff_replay
fi

# Lost events: no violation, one lost window, a larger unverified share
share() { sed -n 's/^unverified share: \([0-9.]*\)%.*/\1/p' "$1"; }
for b in cede p8; do
	[ -f "$T/$b.replay" ] || continue
	name="lost window on $b: no violation, the unverified share grows"
	seq=$("$M" "$T/$b.db" "$T/$b-lost.db" lost 2> "$T/err")
	"$HVTRACE" replay "$T/$b-lost.db" > "$T/lost.out" 2>&1
	rc=$?
	s0=$(share "$T/$b.replay"); s1=$(share "$T/lost.out")
	nl=$("$HVTRACE" sql "$T/$b-lost.db" "SELECT count(*) FROM lost" | tail -1)
	if [ -n "$seq" ] && [ $rc -eq 0 ] && [ "$nl" = 1 ] && grep -q ' 1 lost windows' "$T/lost.out" &&
		awk -v a="$s0" -v b="$s1" 'BEGIN { exit !(b > a && b > 0) }'; then
		ok "$name ($s0% -> $s1%)"
	else
		not_ok "$name" "rc=$rc lost rows=$nl share $s0 -> $s1: $(grep -E '^(VIOLATION|result|events)' "$T/lost.out" | head -3)"
	fi
done

# The helper itself: usage errors, no site, every mutation listed
"$M" --list > "$T/list" 2>&1
n=$(wc -l < "$T/list")
[ "$n" -eq 12 ] && ok "helper_mutate --list names 12 mutations" || not_ok "helper_mutate --list names 12 mutations" "$n"
"$M" "$T/cede.db" "$T/x.db" no-such-mutation > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q no-such-mutation "$T/err" && [ ! -e "$T/x.db" ] && ok "helper_mutate: unknown mutation is exit 2" ||
	not_ok "helper_mutate: unknown mutation is exit 2" "$(cat "$T/err")"
"$M" "$T/p8.db" "$T/x.db" move-split-vcpu > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q 'no site' "$T/err" && [ ! -e "$T/x.db" ] && ok "helper_mutate: no site in the trace is exit 1, no output" ||
	not_ok "helper_mutate: no site in the trace is exit 1, no output" "$(cat "$T/err")"
finish
