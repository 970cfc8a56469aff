/*
 * fetch.js — the chunk I/O of the page, in a Worker of its own beside worker.js, so that the
 * downloads go on while worker.js computes (a Worker busy in slw_run reads no network data:
 * the browser stops sending once its small buffer is full).
 *
 * The page makes it and hands it one end of a MessageChannel; worker.js holds the other and
 * sends requests; the replies carry the chunk's bytes as a transferred ArrayBuffer.  Progress
 * goes straight to the page, which keeps it moving while worker.js is busy.
 *
 *   {op: "first", list: [{k, file, url, key, size}], parallel, cache}
 *        every chunk's first load, the core alone, then the others in order, `parallel` at
 *        once: from the cache (when
 *        `cache`) or the network; each reply {op: "chunk", k, buf, src, net, bad, error}
 *   {op: "get", id, c: {k, file, url, key, size}, cache}  one chunk again: {op: "got", id, ...}
 *   {op: "store", id, key, buf}    cache.put          -> {op: "stored", id}
 *   {op: "unstore", id, key}       cache.delete       -> {op: "unstored", id}
 *
 * It does not check the bytes: worker.js hands them to slw_put, which does.
 */
"use strict";

const CACHE_NAME = "sl-chunks-v1";
const PROGRESS_MS = 100;

let port = null;
let cache = null;
let cacheOpened = null;
let seen = 0, fetched = 0, lastProgress = 0;

function openCache() {
	if (!cacheOpened)
		cacheOpened = (async () => {
			try {
				cache = self.caches ? await self.caches.open(CACHE_NAME) : null;
			} catch (e) {
				cache = null;   // e.g. not a secure context: network only
			}
		})();
	return cacheOpened;
}

function progress(force) {
	const t = performance.now();
	if (!force && t - lastProgress < PROGRESS_MS)
		return;
	lastProgress = t;
	self.postMessage({ type: "io", seen, fetched });
}

/* Chunk c's bytes: {buf, src, net} (net: bytes from the network), or {bad} (a wrong size),
 * or {error} (the network failed).  first: its first load (counted in the progress). */
async function load(c, allowCache, first) {
	let resp = null, src = "cache";
	if (allowCache && cache)
		resp = await cache.match(c.key);
	if (!resp) {
		src = "network";
		try {
			resp = await fetch(c.url, { cache: "no-store" });
		} catch (e) {
			return { error: `${c.file}: ${e.message || "network error"}` };
		}
		if (!resp.ok)
			return { error: `${c.file}: HTTP ${resp.status} ${resp.statusText}`.trim() };
	}
	const out = new Uint8Array(c.size);
	let off = 0, net = 0;
	const reader = resp.body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done)
			break;
		if (src === "network") {
			net += value.length;
			fetched += value.length;
		}
		if (first)
			seen += value.length;
		progress(false);
		if (off + value.length > c.size) {
			reader.cancel().catch(() => {});
			return { src, net, bad: `${c.file}: more than ${c.size} bytes, the size the manifest gives` };
		}
		out.set(value, off);
		off += value.length;
	}
	if (off !== c.size)
		return { src, net, bad: `${c.file}: ${off} bytes, the manifest says ${c.size}` };
	return { buf: out.buffer, src, net };
}

function reply(msg) {
	port.postMessage(msg, msg.buf ? [msg.buf] : []);
}

/* The core chunk alone (nothing can start without it: it gets the whole bandwidth), then the
 * layer chunks in order, `parallel` at once. */
async function first({ list, parallel, cache: useCache }) {
	const one = async (c) => {
		self.postMessage({ type: "io-chunk", k: c.k });
		const r = await load(c, useCache, true).catch((e) => ({ error: `${c.file}: ${e.message}` }));
		reply({ op: "chunk", k: c.k, ...r });
	};
	await one(list[0]);
	let next = 1;
	const lane = async () => {
		while (next < list.length)
			await one(list[next++]);
	};
	await Promise.all(Array.from({ length: Math.min(parallel, list.length - 1) }, lane));
	progress(true);
}

async function onRequest(m) {
	await openCache();
	switch (m.op) {
	case "first":
		return first(m);
	case "get": {
		const r = await load(m.c, m.cache, false).catch((e) => ({ error: `${m.c.file}: ${e.message}` }));
		return reply({ op: "got", id: m.id, ...r });
	}
	case "store":
		if (cache)
			await cache.put(m.key, new Response(m.buf, { headers: { "Content-Type": "application/octet-stream" } }))
				.catch((e) => console.warn(`${m.key}: not stored in the cache: ${e.message}`));
		return reply({ op: "stored", id: m.id });
	case "unstore":
		if (cache)
			await cache.delete(m.key).catch(() => {});
		return reply({ op: "unstored", id: m.id });
	}
}

self.onmessage = (e) => {
	if (e.data && e.data.type === "port") {
		port = e.data.port;
		port.onmessage = (ev) => onRequest(ev.data);
	}
};
