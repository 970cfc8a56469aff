#!/usr/bin/node
/*
 * gen_sweep_expected.js — sha256 of Hugging Face's ids and decoded text for the text of
 * gen_sweep.py (every Unicode code point), through HF's Rust core (npm `tokenizers`).
 *
 *   python3 gen_sweep.py > sweep.txt && node gen_sweep_expected.js NAME TOKENIZER.json sweep.txt
 *
 * Prints one JSON line: {"name", "bytes", "ids", "ids_sha256" (of the ids one a line, as sl-tok
 * writes them, with HF's default special tokens), "decode_sha256" (decode(ids, false))}.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const {Tokenizer} = require('./node_modules/tokenizers');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

(async () => {
	const [name, file, textFile] = process.argv.slice(2);
	const tok = Tokenizer.fromFile(file);
	const buf = fs.readFileSync(textFile);
	const ids = (await tok.encode(buf.toString('utf8'), null, {addSpecialTokens: true})).getIds();
	const dec = await tok.decode(ids, false);
	process.stdout.write(JSON.stringify({name, bytes: buf.length, ids: ids.length,
		ids_sha256: sha(ids.join('\n') + '\n'), decode_sha256: sha(dec),
		reference: 'npm tokenizers ' + require('./node_modules/tokenizers/package.json').version}) + '\n');
})().catch((e) => { process.stderr.write('gen_sweep_expected.js: ' + e + '\n'); process.exit(1); });
