#!/usr/bin/env bats
# What every sl tool shares (cli/sl_cli.c): option errors, --version, exit status 2 for usage.

bats_require_minimum_version 1.5.0

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	BIN=${SL_BIN:-$ROOT/bin}
}

@test "every tool names an unknown long option exactly and exits 2" {
	for t in tok detok quant chunk infer; do
		run -2 --separate-stderr "$BIN/sl-$t" --bogus
		[ "$output" = "" ]
		[ "${stderr_lines[0]}" = "sl-$t: unrecognized option '--bogus'" ]
		[ "${stderr_lines[-1]}" = "Try 'sl-$t --help' for more information." ]
	done
}

@test "every tool names an unknown short option exactly and exits 2" {
	for t in tok detok quant chunk infer; do
		run -2 --separate-stderr "$BIN/sl-$t" -Z
		[ "${stderr_lines[0]}" = "sl-$t: invalid option -- 'Z'" ]
	done
}

@test "a missing option argument is named, short or long" {
	run -2 --separate-stderr "$BIN/sl-tok" -m
	[ "${stderr_lines[0]}" = "sl-tok: option requires an argument -- 'm'" ]
	run -2 --separate-stderr "$BIN/sl-infer" --model
	[ "${stderr_lines[0]}" = "sl-infer: option '--model' requires an argument" ]
	run -2 --separate-stderr "$BIN/sl-quant" -t
	[ "${stderr_lines[0]}" = "sl-quant: option requires an argument -- 't'" ]
}

@test "every tool prints its name and version with -V and --version" {
	for t in tok detok quant chunk infer; do
		run -0 "$BIN/sl-$t" -V
		[ "$output" = "sl-$t 0.1.0" ]
		run -0 "$BIN/sl-$t" --version
		[ "$output" = "sl-$t 0.1.0" ]
	done
}

@test "every tool has a man page that renders without warnings" {
	for p in sl-tok.1 sl-detok.1 sl-quant.1 sl-chunk.1 sl-infer.1 sl-tokens.5 sl-model.5 sl-manifest.5; do
		[ -f "$ROOT/man/$p" ]
		run -0 --separate-stderr groff -ww -man -Tutf8 "$ROOT/man/$p"
		[ "$stderr" = "" ]
	done
}
