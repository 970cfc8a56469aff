/*
 * worker.js — all model work of the page, in a dedicated Worker (the page never blocks).
 *
 * The page sends one message, {type: "run", model, prompt, n, temp, seed, topK, topP,
 * threads, budget, build, port}, and gets back "info", "plan", "chunk", "progress", "text",
 * "done" and "error" messages (app.js).  One Worker runs one generation: the page makes a
 * new one for each run, so that the thread pool matches the threads asked for.  port leads
 * to fetch.js, the chunk I/O in a Worker of its own (downloads go on while this one computes).
 *
 * Loading (sl_web.h): the manifest goes to slw_open; the core chunk is fetched first (alone),
 * then the layer chunks in layer order, a few at a time; each comes from the Cache API when it is
 * there (keyed by its URL and its XXH3-128 from the manifest, so a changed model never
 * matches a stale entry), else from the network (and is stored once it passed its check).
 * slw_put checks every chunk; one that fails is deleted from the cache and fetched once
 * more from the network, and if it fails again the run ends with slw_error(), which names it.
 *
 * Generation starts as soon as the core chunk is in: slw_run returns SLW_WAIT at the first
 * layer whose chunk has not arrived yet, and we put it when it does.
 *
 * Under a memory budget, the core and the lowest layer chunks that fit (beside the session's
 * state and one streamed chunk) stay; the others are "streamed": dropped after use and put
 * again from the Cache API when slw_run asks for them, the next one read ahead in the
 * background while the current one runs.
 */
"use strict";

const PARALLEL = 4;          // chunk fetches at once

let M = null;                // the emscripten module
let api = null;              // wrapped slw_* functions

const now = () => performance.now();
const post = (m) => self.postMessage(m);

/* A turn of the event loop without setTimeout's 4 ms clamp, so messages flow between ids. */
const channel = new MessageChannel();
const yieldQueue = [];
channel.port1.onmessage = () => yieldQueue.shift()();
const yieldLoop = () => new Promise((r) => { yieldQueue.push(r); channel.port2.postMessage(0); });

/* The wasm heap as bytes; a fresh view each time: memory growth replaces the buffer. */
function heap() {
	return new Uint8Array(M.wasmMemory ? M.wasmMemory.buffer : M.HEAPU8.buffer);
}

async function loadModule(threads, build) {
	const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
	const file = isolated && build !== "one" ? "sl-mt.js" : "sl.js";
	const url = new URL(file, self.location.href).href;
	importScripts(url);
	M = await self.SLModule({
		slPoolSize: threads,
		mainScriptUrlOrBlob: url,                 // where the pthread workers load it from
		print: (s) => console.log(s),
		printErr: (s) => console.warn(s),
	});
	const w = (name, ret, args) => M.cwrap(name, ret, args);
	api = {
		error: w("slw_error", "string", []),
		buildInfo: w("slw_build_info", "string", []),
		alloc: w("slw_alloc", "number", ["number"]),
		free: w("slw_free", null, ["number"]),
		open: w("slw_open", "number", ["number", "number", "string", "number"]),
		chunkFile: w("slw_chunk_file", "string", ["number"]),
		chunkFirst: w("slw_chunk_first_layer", "number", ["number"]),
		chunkLayers: w("slw_chunk_n_layers", "number", ["number"]),
		chunkSize: w("slw_chunk_size", "number", ["number"]),
		put: w("slw_put", "number", ["number", "number", "number"]),
		drop: w("slw_drop", "number", ["number"]),
		has: w("slw_has", "number", ["number"]),
		bytesHeld: w("slw_bytes_held", "number", []),
		begin: w("slw_begin", "number", ["string", "number", "number", "number", "number", "number"]),
		run: w("slw_run", "number", []),
		token: w("slw_token", "number", []),
		text: w("slw_text", "string", []),
		waitChunk: w("slw_wait_chunk", "number", []),
		tail: w("slw_tail", "string", []),
		stats: w("slw_stats", "string", []),
		close: w("slw_close", null, []),
	};
	let info = {};
	try { info = JSON.parse(api.buildInfo()); } catch (e) { /* shown as unknown */ }
	return { build: file, isolated, info };
}

/* Copy bytes into a fresh heap block; the pointer (owned by sl_web once put). */
function toHeap(bytes) {
	const p = api.alloc(bytes.length);
	if (!p)
		throw new Error(`out of memory: ${bytes.length} bytes for a chunk`);
	heap().set(bytes, p);                    // after the alloc: it may have grown the heap
	return p;
}

/* Requests to fetch.js (the chunk I/O, in a Worker of its own) over the page's MessagePort. */
class IO {
	constructor(port) {
		this.port = port;
		this.id = 0;
		this.waiting = new Map();
		this.onChunk = null;
		port.onmessage = (e) => {
			const m = e.data;
			if (m.op === "chunk")
				return this.onChunk(m);
			const done = this.waiting.get(m.id);
			this.waiting.delete(m.id);
			done(m);
		};
	}

	call(msg, transfer) {
		const id = ++this.id;
		return new Promise((resolve) => {
			this.waiting.set(id, resolve);
			this.port.postMessage({ ...msg, id }, transfer || []);
		});
	}
}

class Loader {
	constructor(manifestUrl, manifest, io) {
		this.chunks = manifest.chunks.map((c, k) => {
			const url = new URL(c.file, manifestUrl).href;
			return {
				k, file: c.file, size: c.size, xxh3: c.xxh3, layers: c.layers, url,
				// The cache key: a changed chunk (another sum) never matches an old entry.
				key: url + (url.includes("?") ? "&" : "?") + "xxh3=" + c.xxh3,
				state: "waiting",   // waiting, resident, streamed, held, failed
				arrived: null,      // promise: put (resident) or seen by the cache (streamed)
			};
		});
		this.io = io;
		this.total = this.chunks.reduce((s, c) => s + c.size, 0);
		this.fetched = 0;           // bytes read from the network
		this.fromCache = 0;         // chunks whose first load came from the cache
		this.nDone = 0;
		this.puts = 0;              // slw_put calls (a streamed chunk is put once per id)
		this.putMs = 0;             // in them (copy to the heap, size, XXH3 and header checks)
		this.resident = new Set(this.chunks.map((c) => c.k)); // all, unless a budget says less
		this.cachePuts = [];
		this.toStore = [];          // chunks put from the network, to copy to the cache
		this.prefetch = null;       // {k, promise}: the next streamed chunk, read ahead
		this.waitingFor = -1;
		this.failed = null;
	}

	desc(c) {
		return { k: c.k, file: c.file, url: c.url, key: c.key, size: c.size };
	}

	progress() {
		post({ type: "progress", total: this.total, done: this.nDone, n: this.chunks.length,
			fromCache: this.fromCache });
	}

	setState(c, state) {
		c.state = state;
		post({ type: "chunk", k: c.k, state });
	}

	/* A reply of fetch.js as what tryPut takes: {bytes} or {bad}; network errors throw. */
	got(r) {
		this.fetched += r.net || 0;
		if (r.error)
			throw new Error(r.error);
		return r.bad ? { bad: r.bad } : { bytes: new Uint8Array(r.buf) };
	}

	/* Chunk c again (not its first load): from the cache if allowed, else the network. */
	async get(c, allowCache) {
		const r = await this.io.call({ op: "get", c: this.desc(c), cache: allowCache });
		return { got: this.got(r), src: r.src };
	}

	/* Have the cache keep buf (chunk c's bytes; transferred to fetch.js). */
	store(c, buf) {
		this.cachePuts.push(this.io.call({ op: "store", key: c.key, buf }, [buf]));
	}

	/* Every store asked for so far has been written. */
	stored() {
		return Promise.all(this.cachePuts.slice());
	}

	async unstore(c) {
		await this.stored();
		await this.io.call({ op: "unstore", key: c.key });
	}

	/* Chunk c was put from the network: the cache should keep it.  Its copy is made later,
	 * from the heap, when every chunk is in and the generation is over (storeWhenIn):
	 * writing to the cache while the rest downloads slows the download, and copies held
	 * meanwhile cost memory. */
	keep(c, ptr, n, src) {
		if (src === "network")
			this.toStore.push({ c, ptr, n });
	}

	/* Chunk k is about to be dropped: if its copy to the cache is still to be made, make it now. */
	storeBeforeDrop(k) {
		const i = this.toStore.findIndex((e) => e.c.k === k);
		if (i < 0)
			return;
		const { c, ptr, n } = this.toStore.splice(i, 1)[0];
		this.store(c, heap().slice(ptr, ptr + n).buffer);
	}

	/* The deferred copies, one at a time (sl_web uses a chunk's bytes in place, as put), taken
	 * off the list one by one so that storeBeforeDrop still finds the others. */
	async storeAll() {
		while (this.toStore.length) {
			const { c, ptr, n } = this.toStore.shift();
			if (api.has(c.k))
				this.store(c, heap().slice(ptr, ptr + n).buffer);
			await this.stored();
		}
	}

	/* Hand got ({bytes} or {bad}) to slw_put as chunk c: {ptr, n}, or {err}. */
	tryPut(c, got) {
		if (got.bad)
			return { err: got.bad };
		const t = now();
		const p = toHeap(got.bytes);
		this.puts++;
		const rc = api.put(c.k, p, got.bytes.length);  // sl_web frees the block either way
		this.putMs += now() - t;
		if (rc !== 0)
			return { err: api.error() || `${c.file}: refused` };
		return { ptr: p, n: got.bytes.length };
	}

	/* Put chunk c; if it is refused, once more from the network; then throw. */
	async putChecked(c, got, src) {
		let r = this.tryPut(c, got);
		if (!r.err)
			return this.keep(c, r.ptr, r.n, src);
		console.warn(`${r.err}: fetching it again`);
		if (src === "cache")
			await this.unstore(c);
		const again = await this.get(c, false);
		r = this.tryPut(c, again.got);
		if (r.err) {
			this.setState(c, "failed");
			throw new Error(r.err);
		}
		this.keep(c, r.ptr, r.n, "network");
	}

	/* A chunk's first load has come back from fetch.js: put it if it stays (or is wanted
	 * now), else only see that the cache holds it (streamed: put again when slw_run asks). */
	async first(m) {
		const c = this.chunks[m.k];
		if (m.src === "cache")
			this.fromCache++;
		const got = this.got(m);
		if (this.resident.has(c.k) || this.waitingFor === c.k) {
			await this.putChecked(c, got, m.src);
			this.setState(c, this.resident.has(c.k) ? "resident" : "held");
		} else {
			if (got.bad)
				throw new Error(got.bad);
			if (m.src === "network")
				this.store(c, got.bytes.buffer);   // checked when it is put
			this.setState(c, "streamed");
		}
	}

	/* Every chunk's first load, by fetch.js: the core first, then layer order, PARALLEL at once. */
	startAll() {
		for (const c of this.chunks) {
			c.arrived = new Promise((res, rej) => { c._resolve = res; c._reject = rej; });
			c.arrived.catch(() => {}); // seen by whoever awaits it
		}
		let resolveAll;
		this.allArrived = new Promise((res) => { resolveAll = res; });
		this.io.onChunk = (m) => {
			const c = this.chunks[m.k];
			this.first(m).then(() => c._resolve(), (e) => {
				this.failed = this.failed || e;
				c._reject(e);
			}).finally(() => {
				this.nDone++;
				this.progress();
				if (this.nDone === this.chunks.length)
					resolveAll();
			});
		};
		this.io.port.postMessage({ op: "first", list: this.chunks.map((c) => this.desc(c)), parallel: PARALLEL, cache: true });
	}

	/* The cache copies, once every chunk is in and the generation is over: made while it
	 * generates, they take a core from the threads that compute (7.7 against 11.5 tok/s
	 * with 2 threads on the 1.7B shape; bench/NOTES.md). */
	storeWhenIn() {
		this.storedAll = this.allArrived.then(() => this.failed ? null : this.storeAll());
		return this.storedAll;
	}

	/* slw_run wants chunk k. */
	async need(k) {
		const c = this.chunks[k];
		if (!this.resident.has(k)) {
			// Under the budget: free the other streamed chunks first.
			for (const o of this.chunks)
				if (o.k && o.k !== k && !this.resident.has(o.k) && api.has(o.k)) {
					this.storeBeforeDrop(o.k);
					api.drop(o.k);
					this.setState(o, "streamed");
				}
		}
		this.waitingFor = k;
		await c.arrived;            // its first load (already under way)
		this.waitingFor = -1;
		const pre = this.prefetch && this.prefetch.k === k ? await this.prefetch.promise : null;
		this.prefetch = null;
		if (!api.has(k)) {
			let r = pre;
			if (!r) {
				await this.stored();   // its copy may still be on its way to the cache
				r = await this.get(c, true);
			}
			await this.putChecked(c, r.got, r.src);
			this.setState(c, "held");
		}
		if (!this.resident.has(k))
			this.readAhead(k);
	}

	/* Read the streamed chunk after k (in layer order, wrapping to the next id) from the cache. */
	readAhead(k) {
		const streamed = this.chunks.filter((c) => c.k && !this.resident.has(c.k));
		if (!streamed.length)
			return;
		const i = streamed.findIndex((c) => c.k === k);
		const c = streamed[(i + 1) % streamed.length];
		if (c.k === k || (this.prefetch && this.prefetch.k === c.k))
			return;
		const entry = { k: c.k };
		entry.promise = c.arrived.then(async () => {
			await this.stored();    // its copy may still be on its way to the cache
			// Not wanted any more, or held already (a copy is made before it is dropped).
			if (this.prefetch !== entry || api.has(c.k))
				return null;
			return this.get(c, true);
		});
		entry.promise.catch(() => {});
		this.prefetch = entry;
	}

	/* Which layer chunks stay: the lowest ones that fit beside the core, the state and one streamed chunk. */
	plan(budget, stateBytes) {
		const layers = this.chunks.slice(1);
		const all = this.chunks.reduce((s, c) => s + c.size, 0);
		const keep = new Set([0]);
		if (!budget || all + stateBytes <= budget) {
			for (const c of layers)
				keep.add(c.k);
		} else {
			const biggest = Math.max(...layers.map((c) => c.size));
			let used = this.chunks[0].size + stateBytes + biggest;
			for (const c of layers) {
				if (used + c.size > budget)
					break;
				used += c.size;
				keep.add(c.k);
			}
		}
		this.resident = keep;
		return keep;
	}

	planMessage(budget, stateBytes) {
		const res = this.chunks.filter((c) => this.resident.has(c.k));
		const str = this.chunks.filter((c) => !this.resident.has(c.k));
		const bytes = (list) => list.reduce((s, c) => s + c.size, 0);
		post({ type: "plan", budget, stateBytes, resident: res.map((c) => c.k), streamed: str.map((c) => c.k),
			residentBytes: bytes(res), streamedBytes: bytes(str),
			chunks: this.chunks.map((c) => ({ k: c.k, file: c.file, size: c.size, layers: c.layers })) });
	}
}

/* The KV cache and activations a session of ctx ids takes, from the manifest (a first guess;
 * slw_stats gives the real figure once the session exists). */
function estimateState(model, ctx) {
	const nl = model.block_count || 1, ne = model.embedding_length || 0;
	const nh = model.head_count || 1, nkv = model.head_count_kv || nh;
	const kv = 2 * nl * ctx * (ne * nkv / nh) * 2;           // f16 keys and values
	const act = 4 * (8 * ne + 3 * (model.feed_forward_length || 0) + 2 * (model.vocab_size || 0));
	return kv + act + (1 << 20);
}

async function run(req) {
	const t0 = now();
	const stats = { loadMs: null, firstTokenMs: null, promptTokS: null, genTokS: null,
		bytesFetched: 0, chunksFromCache: 0, threads: 1, simd: false, build: null };
	const mod = await loadModule(Math.max(1, req.threads | 0), req.build);
	const threads = mod.build === "sl-mt.js" ? Math.max(1, req.threads | 0) : 1;
	stats.threads = threads;
	stats.build = mod.build;
	stats.simd = !!mod.info.simd;
	post({ type: "info", build: mod.build, isolated: mod.isolated, threads, info: mod.info });
	const tModule = now();

	// The manifest: revalidated every time, so that a changed model is seen.
	const manifestUrl = new URL(req.model, self.location.href).href;
	let resp;
	try {
		resp = await fetch(manifestUrl, { cache: "no-cache" });
	} catch (e) {
		throw new Error(`${req.model}: ${e.message || "network error"}`);
	}
	if (!resp.ok)
		throw new Error(`${req.model}: HTTP ${resp.status} ${resp.statusText}`.trim());
	const mbytes = new Uint8Array(await resp.arrayBuffer());
	let manifest;
	try {
		manifest = JSON.parse(new TextDecoder().decode(mbytes));
	} catch (e) {
		throw new Error(`${req.model}: not JSON: ${e.message}`);
	}
	for (const c of manifest.chunks || [])
		if (c.codec && c.codec !== "none")
			throw new Error(`${c.file}: codec ${c.codec}: this build reads uncompressed chunks only (sl-chunk without --zstd)`);
	const mp = toHeap(mbytes);
	const nc = api.open(mp, mbytes.length, req.model, threads);
	api.free(mp);
	if (nc < 0)
		throw new Error(api.error());

	if (!port)
		throw new Error("no chunk I/O: the page gave the Worker no port to fetch.js");
	const L = new Loader(manifestUrl, manifest, new IO(port));
	// Prompt ids are at most its UTF-8 bytes (+ BOS).
	const promptBytes = new TextEncoder().encode(req.prompt).length;
	const ctxGuess = Math.min(manifest.model.context_length || 4096, req.n + promptBytes + 2);
	const budget = req.budget > 0 ? req.budget : 0;
	L.plan(budget, estimateState(manifest.model, ctxGuess));
	L.planMessage(budget, estimateState(manifest.model, ctxGuess));
	L.startAll();
	L.allArrived.then(() => {
		if (!L.failed)
			stats.loadMs = now() - t0;
	});

	const tManifest = now();
	await L.chunks[0].arrived;    // the model and the tokenizer
	const tBegin = now();
	if (api.begin(req.prompt, req.n, req.temp, req.topK || 0, req.topP == null ? 1 : req.topP, req.seed) !== 0)
		throw new Error(api.error());
	if (budget) {
		// The real state size, now that the session exists: plan again with it.
		try {
			const st = JSON.parse(api.stats()).state_bytes;
			if (st > 0) {
				const before = L.resident;
				L.plan(budget, st);
				for (const c of L.chunks)
					if (!L.resident.has(c.k) && before.has(c.k) && c.state === "resident")
						L.setState(c, "held");   // put already: dropped when a streamed one is needed
				L.planMessage(budget, st);
			}
		} catch (e) { /* keep the first plan */ }
	}

	// Speeds as the page sees them: the prompt's is its ids over the time spent in slw_run
	// until the first id (not the time waiting for chunks); the generation's is the ids after
	// the first over the time from the first to the last.
	let ids = 0, tFirst = 0, tLast = 0, promptRunMs = 0, promptWaitMs = 0;
	for (;;) {
		const ta = now();
		const r = api.run();
		if (!ids)
			promptRunMs += now() - ta;
		if (r === 0) {                       // SLW_TOKEN
			const text = api.text();
			ids++;
			tLast = now();
			if (ids === 1) {
				tFirst = tLast;
				stats.firstTokenMs = tFirst - t0;
			}
			post({ type: "text", text, ids, ms: tLast - t0 });
			await yieldLoop();
		} else if (r === 1) {                // SLW_WAIT
			const k = api.waitChunk();
			const tw = now();
			await L.need(k);
			if (!ids)
				promptWaitMs += now() - tw;
		} else if (r === 2) {                // SLW_DONE
			const tail = api.tail();
			if (tail)
				post({ type: "text", text: tail, ids, ms: now() - t0 });
			break;
		} else {
			throw new Error(api.error() || "generation failed");
		}
		if (L.failed)
			throw L.failed;
	}
	let st = {};
	try { st = JSON.parse(api.stats()); } catch (e) { /* only ours */ }
	if (ids && st.prompt_ids && promptRunMs > 0)
		stats.promptTokS = st.prompt_ids / (promptRunMs / 1000);
	if (ids > 1 && tLast > tFirst)
		stats.genTokS = (ids - 1) / ((tLast - tFirst) / 1000);
	// Every chunk has been seen (the streamed ones only by the cache) and stored.
	await L.allArrived;
	if (L.failed)
		throw L.failed;
	await L.storeWhenIn();
	await L.stored();
	if (stats.loadMs == null)
		stats.loadMs = now() - t0;
	stats.bytesFetched = L.fetched;
	stats.chunksFromCache = L.fromCache;
	stats.streamedChunks = L.chunks.length - L.resident.size;
	stats.puts = L.puts;
	// Where the time to the first id went (the rest: loading the engine and the manifest,
	// the core chunk, and the puts and copies between the runs).
	stats.timing = { moduleMs: tModule - t0, manifestMs: tManifest - t0, beginMs: tBegin - t0,
		promptRunMs, promptWaitMs, putMs: L.putMs };
	stats.engine = st;
	stats.heldBytes = api.bytesHeld();
	post({ type: "done", stats });
}

let port = null;

self.onmessage = (e) => {
	const req = e.data;
	if (!req || req.type !== "run")
		return;
	port = req.port;
	run(req).catch((err) => post({ type: "error", message: String(err && err.message || err) }));
};
