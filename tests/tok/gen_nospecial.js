#!/usr/bin/node
/*
 * gen_nospecial.js — ground truth for sl-tok --no-special, which treats special-token strings
 * in the text as plain text.  HF has no such encode option, so this loads the same tokenizer.json
 * with its added_tokens list emptied (the vocabulary and merges unchanged) into HF's Rust core
 * (npm `tokenizers`) and encodes the corpus cases that contain '<', joined by newlines, as one text.
 *
 *   xz -dc corpus.jsonl.xz | node gen_nospecial.js TOKENIZER.json | xz > expected-nospecial-NAME.json.xz
 */
'use strict';
const fs = require('fs');
const {Tokenizer} = require('./node_modules/tokenizers');

(async () => {
	const json = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
	json.added_tokens = [];
	const tok = Tokenizer.fromString(JSON.stringify(json));
	const cases = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l))
		.filter((c) => c.text.includes('<') && Buffer.byteLength(c.text) <= 1500).slice(0, 250);
	const text = cases.map((c) => c.text).join('\n');
	const ids = (await tok.encode(text, null, {addSpecialTokens: false})).getIds();
	const version = require('./node_modules/tokenizers/package.json').version;
	process.stdout.write(JSON.stringify({reference: 'npm tokenizers ' + version + ', added_tokens removed',
		cases: cases.map((c) => c.name), text, ids}) + '\n');
})().catch((e) => { process.stderr.write('gen_nospecial.js: ' + e + '\n'); process.exit(1); });
