#!/usr/bin/node
/*
 * bench_hf.js — the speed of Hugging Face's Rust tokenizer core (npm `tokenizers`) on a text file,
 * for bench/tok.sh: loads the tokenizer and the text, then times encode() alone RUNS times.
 *
 *   node bench_hf.js TOKENIZER.json TEXT [RUNS] [IDS-OUT]
 *
 * Prints the seconds of each run, one a line; writes the ids of the last run to IDS-OUT (one a
 * line, as sl-tok does) so that the caller can check sl-tok's ids on the same text.
 */
'use strict';
const fs = require('fs');
const {Tokenizer} = require('./node_modules/tokenizers');

(async () => {
	const [file, textFile, runsArg, idsOut] = process.argv.slice(2);
	const tok = Tokenizer.fromFile(file);
	const text = fs.readFileSync(textFile, 'utf8');
	let ids;
	for (let i = 0; i < Number(runsArg || 3); i++) {
		const t0 = process.hrtime.bigint();
		const enc = await tok.encode(text, null, {addSpecialTokens: true});
		const t1 = process.hrtime.bigint();
		ids = enc.getIds();
		console.log((Number(t1 - t0) / 1e9).toFixed(4));
	}
	if (idsOut)
		fs.writeFileSync(idsOut, ids.join('\n') + (ids.length ? '\n' : ''));
})().catch((e) => { process.stderr.write('bench_hf.js: ' + e + '\n'); process.exit(1); });
