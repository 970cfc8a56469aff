#!/usr/bin/node
/*
 * gen_expected.js — the ground truth for sl-tok and sl-detok: token ids and decoded text from
 * Hugging Face's Rust tokenizer core, through its official Node.js bindings (npm `tokenizers`,
 * pinned in package.json; `npm ci` here first).  Not the pure-JS ports, which differ on some text.
 *
 *   xz -dc corpus.jsonl.xz | node gen_expected.js TOKENIZER.json SEPARATOR | xz > expected-NAME.jsonl.xz
 *
 * Line 1 is a header: the tokenizer's sha256, versions, what HF's default encode adds around the
 * text (`bos`, `eos`: encode(x, null, {addSpecialTokens: true}) == bos + ids + eos, checked on every
 * case), the separator special token used to join cases into one stream, and sha256 of HF's decode
 * of that whole stream.  Then one line per corpus case, in order:
 *   {"ids": [...]}                         encode(text, null, {addSpecialTokens: false})
 *   "dec"  (only if it differs from text)  decode(ids, false)
 *   "skip" (only if it differs from dec)   decode(ids, true)
 *
 * The stream the tests feed to the tools is the cases joined with SEPARATOR; this script checks
 * that HF encodes that stream to the per-case ids joined with the separator's id (so one sl-tok run
 * covers every case), and records the sha256 of HF's decode of the joined ids in both modes.
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const {Tokenizer} = require('./node_modules/tokenizers');

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

function fail(msg) {
	process.stderr.write('gen_expected.js: ' + msg + '\n');
	process.exit(1);
}

function sameIds(a, b) {
	return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function main() {
	const [file, sep] = process.argv.slice(2);
	if (!file || !sep)
		fail('usage: node gen_expected.js TOKENIZER.json SEPARATOR < corpus.jsonl');
	const tok = Tokenizer.fromFile(file);
	const texts = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l).text);

	const sepEnc = await tok.encode(sep, null, {addSpecialTokens: false});
	if (sepEnc.getIds().length !== 1)
		fail(sep + ' is not one token');
	const sepId = sepEnc.getIds()[0];

	// What the default encode adds around the text, from the empty string and a word.
	const e0 = (await tok.encode('', null, {addSpecialTokens: true})).getIds();
	const w1 = (await tok.encode('word', null, {addSpecialTokens: true})).getIds();
	const w0 = (await tok.encode('word', null, {addSpecialTokens: false})).getIds();
	const bosLen = w1.findIndex((v, i) => w0.length === 0 || v === w0[0] && sameIds(w1.slice(i, i + w0.length), w0));
	const bos = w1.slice(0, bosLen), eos = w1.slice(bosLen + w0.length);
	if (!sameIds(e0, bos.concat(eos)))
		fail('cannot tell what the default encode adds');

	const lines = [], all = [], allSkipRule = [];
	for (const [i, text] of texts.entries()) {
		const ids = (await tok.encode(text, null, {addSpecialTokens: false})).getIds();
		const def = (await tok.encode(text, null, {addSpecialTokens: true})).getIds();
		if (!sameIds(def, bos.concat(ids, eos)))
			fail('case ' + (i + 1) + ': default encode is not bos + ids + eos');
		const dec = await tok.decode(ids, false);
		const skip = await tok.decode(ids, true);
		const o = {ids};
		if (dec !== text)
			o.dec = dec;
		if (skip !== dec)
			o.skip = skip;
		lines.push(JSON.stringify(o));
		if (i > 0)
			all.push(sepId);
		for (const id of ids)
			all.push(id);
	}

	const joined = texts.join(sep);
	const got = (await tok.encode(joined, null, {addSpecialTokens: false})).getIds();
	if (!sameIds(got, all)) {
		const k = got.findIndex((v, i) => v !== all[i]);
		fail('the joined stream does not encode to the joined ids (first difference at id ' + k + ')');
	}
	const header = {
		tokenizer: path.basename(path.dirname(path.resolve(file))) + '/' + path.basename(file),
		tokenizer_sha256: sha(fs.readFileSync(file)),
		reference: 'npm tokenizers ' + require('./node_modules/tokenizers/package.json').version +
			   ' (Hugging Face Rust core), node ' + process.version,
		cases: texts.length,
		corpus_sha256: sha(texts.join('\n')),
		bos, eos,
		sep, sep_id: sepId,
		stream_ids: all.length,
		stream_ids_sha256: sha(all.join('\n') + '\n'),
		stream_decode_sha256: sha(await tok.decode(all, false)),
		stream_skip_sha256: sha(await tok.decode(all, true)),
	};
	process.stdout.write(JSON.stringify(header) + '\n' + lines.join('\n') + '\n');
}

main().catch((e) => fail(String(e)));
