/*
 * worker.js — all model work of the page, in a dedicated Worker (the page never blocks).
 *
 * The page sends one message, {type: "run", model, prompt, n, temp, seed, topK, topP,
 * threads, budget, build}, and gets back "info", "plan", "chunk", "progress", "text", "stats",
 * "done" and "error" messages (app.js).  One Worker runs one generation: the page makes a
 * new one for each run, so that the thread pool matches the threads asked for.
 *
 * Loading (sl_web.h): the manifest goes to slw_open; the core chunk is fetched first, then
 * the layer chunks in layer order, a few at a time; each comes from the Cache API when it is
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

const CACHE_NAME = "sl-chunks-v1";
const PARALLEL = 4;          // chunk fetches at once
const PROGRESS_MS = 100;     // at most one progress message per this

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

class Loader {
	constructor(manifestUrl, manifest, opts) {
		this.base = manifestUrl;
		this.chunks = manifest.chunks.map((c, k) => ({
			k, file: c.file, size: c.size, xxh3: c.xxh3, layers: c.layers,
			url: new URL(c.file, manifestUrl).href,
			state: "waiting",       // waiting, fetching, resident, streamed, held, failed
			arrived: null,          // promise: put (resident) or stored in the cache (streamed)
			fromCache: null,        // where the first copy came from
		}));
		this.total = this.chunks.reduce((s, c) => s + c.size, 0);
		this.seen = 0;              // bytes of first loads, from anywhere (progress)
		this.fetched = 0;           // bytes read from the network
		this.fromCache = 0;         // chunks whose first copy came from the cache
		this.nDone = 0;
		this.puts = 0;              // slw_put calls (a streamed chunk is put once per id)
		this.lastProgress = 0;
		this.resident = new Set(this.chunks.map((c) => c.k)); // all, unless a budget says less
		this.cachePuts = [];
		this.putChain = Promise.resolve();
		this.toStore = [];          // chunks put from the network, to copy to the cache
		this.pendingPuts = 0;
		this.prefetch = null;       // {k, promise of bytes}: the next streamed chunk, read ahead
		this.cache = null;
		this.opts = opts;
	}

	key(c) {
		return c.url + (c.url.includes("?") ? "&" : "?") + "xxh3=" + c.xxh3;
	}

	async openCache() {
		try {
			this.cache = self.caches ? await self.caches.open(CACHE_NAME) : null;
		} catch (e) {
			this.cache = null;      // e.g. an opaque origin: network only
		}
	}

	progress(force) {
		const t = now();
		if (!force && t - this.lastProgress < PROGRESS_MS)
			return;
		this.lastProgress = t;
		post({ type: "progress", bytes: this.seen, total: this.total, done: this.nDone,
			n: this.chunks.length, fetched: this.fetched, fromCache: this.fromCache });
	}

	setState(c, state) {
		c.state = state;
		post({ type: "chunk", k: c.k, state });
	}

	/* A response for chunk c: from the cache if allowed and there, else from the network. */
	async open(c, allowCache) {
		if (allowCache && this.cache) {
			const resp = await this.cache.match(this.key(c));
			if (resp)
				return { resp, src: "cache" };
		}
		let resp;
		try {
			resp = await fetch(c.url, { cache: "no-store" });
		} catch (e) {
			throw new Error(`${c.file}: ${e.message || "network error"}`);
		}
		if (!resp.ok)
			throw new Error(`${c.file}: HTTP ${resp.status} ${resp.statusText}`.trim());
		return { resp, src: "network" };
	}

	/* Store a copy of chunk c's bytes in the cache.  One write at a time, and first() waits
	 * when a few are queued: the copies are what the renderer holds beyond the heap. */
	store(c, bytes) {
		if (!this.cache)
			return;
		this.pendingPuts++;
		const resp = new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } });
		this.putChain = this.putChain.then(() => this.cache.put(this.key(c), resp))
			.catch((e) => console.warn(`${c.file}: not stored in the cache: ${e.message}`))
			.finally(() => this.pendingPuts--);
		this.cachePuts.push(this.putChain);
	}

	/* Read a response body, piece by piece, to sink(piece, offset); first: the chunk's first
	 * load, which moves the progress bar.  An error message if its size is not the manifest's. */
	async read(c, { resp, src }, first, sink) {
		let off = 0;
		const reader = resp.body.getReader();
		for (;;) {
			const { done, value } = await reader.read();
			if (done)
				break;
			if (src === "network")
				this.fetched += value.length;
			if (first) {
				this.seen += value.length;
				this.progress(false);
			}
			if (off + value.length > c.size) {
				reader.cancel().catch(() => {});
				return `${c.file}: more than ${c.size} bytes, the size the manifest gives`;
			}
			if (sink)
				sink(value, off);
			off += value.length;
		}
		return off === c.size ? null : `${c.file}: ${off} bytes, the manifest says ${c.size}`;
	}

	/* The body straight into a new heap block: {ptr, n} (owned by us until put) or {bad}. */
	async readToHeap(c, o, first) {
		const p = api.alloc(c.size);
		if (!p)
			throw new Error(`${c.file}: out of memory for its ${c.size} bytes`);
		const bad = await this.read(c, o, first, (v, off) => heap().set(v, p + off));
		if (bad) {
			api.free(p);
			return { bad };
		}
		return { ptr: p, n: c.size };
	}

	/* The body into an array (a streamed chunk: for the cache, or read ahead while one runs). */
	async readToArray(c, o, first) {
		const out = new Uint8Array(c.size);
		const bad = await this.read(c, o, first, (v, off) => out.set(v, off));
		return bad ? { bad } : { bytes: out };
	}

	async unstore(c) {
		await Promise.all(this.cachePuts);
		if (this.cache)
			await this.cache.delete(this.key(c));
	}

	/* Hand got ({ptr, n}, {bytes} or {bad}) to slw_put as chunk c: null, or why it failed. */
	tryPut(c, got) {
		if (got.bad)
			return got.bad;
		const p = got.ptr || toHeap(got.bytes);
		const n = got.ptr ? got.n : got.bytes.length;
		this.puts++;
		if (api.put(c.k, p, n) !== 0)     // sl_web frees the block either way
			return api.error() || `${c.file}: refused`;
		return null;
	}

	/* Chunk c was put from the network: have the cache keep it.  A block put from the heap
	 * is copied out later, when every chunk is in (store_all): writing a gigabyte to the
	 * cache while the rest downloads slows the download, and holding copies costs memory. */
	keep(c, got, o) {
		if (o.src !== "network" || !this.cache)
			return;
		if (got.bytes)
			this.store(c, got.bytes);
		else
			this.toStore.push({ c, ptr: got.ptr, n: got.n });
	}

	/* Chunk k is about to be dropped: if its copy to the cache is still to be made, make it now. */
	storeBeforeDrop(k) {
		const i = this.toStore.findIndex((e) => e.c.k === k);
		if (i < 0)
			return;
		const { c, ptr, n } = this.toStore.splice(i, 1)[0];
		this.store(c, heap().slice(ptr, ptr + n));
	}

	/* The deferred copies, one at a time (sl_web uses a chunk's bytes in place, as put). */
	async storeAll() {
		// One at a time off the list, so that storeBeforeDrop still finds the others.
		while (this.toStore.length) {
			const { c, ptr, n } = this.toStore.shift();
			if (api.has(c.k))
				this.store(c, heap().slice(ptr, ptr + n));
			await this.putChain;
		}
	}

	/* Put chunk c from got (read from o); if it is refused, once more from the network; then
	 * throw.  What came from the network goes to the cache once it has been accepted. */
	async putChecked(c, got, o) {
		let err = this.tryPut(c, got);
		if (!err) {
			this.keep(c, got, o);
			return;
		}
		console.warn(`${err}: fetching it again`);
		if (o.src === "cache")
			await this.unstore(c);
		const o2 = await this.open(c, false);
		const again = await this.readToHeap(c, o2, false);
		err = this.tryPut(c, again);
		if (err) {
			this.setState(c, "failed");
			throw new Error(err);
		}
		this.keep(c, again, o2);
	}

	/* The first load of chunk c: put it if it stays (or is wanted now), else only see that
	 * the cache holds it (a streamed chunk: read again when slw_run asks). */
	async first(c) {
		this.setState(c, "fetching");
		const o = await this.open(c, true);
		c.fromCache = o.src === "cache";
		if (c.fromCache)
			this.fromCache++;
		if (this.resident.has(c.k) || this.waitingFor === c.k) {
			await this.putChecked(c, await this.readToHeap(c, o, true), o);
			this.setState(c, this.resident.has(c.k) ? "resident" : "held");
		} else {
			// Streamed: into the cache only (checked when it is put, for each id).
			const got = o.src === "network" ? await this.readToArray(c, o, true) : { bad: await this.read(c, o, true, null) };
			if (got.bad)
				throw new Error(got.bad);
			if (got.bytes)
				this.store(c, got.bytes);
			this.setState(c, "streamed");
		}
		if (this.pendingPuts > 4)   // streamed chunks' copies waiting for the cache
			await this.putChain;
		this.nDone++;
		this.progress(true);
	}

	/* Start every chunk's first load: the core first, then layer order, PARALLEL at once. */
	startAll() {
		const queue = this.chunks.slice();
		const starters = [];
		for (const c of queue) {
			let resolve, reject;
			c.arrived = new Promise((res, rej) => { resolve = res; reject = rej; });
			c.arrived.catch(() => {}); // seen by whoever awaits it
			c._resolve = resolve;
			c._reject = reject;
		}
		let next = 0;
		const lane = async () => {
			while (next < queue.length) {
				const c = queue[next++];
				try {
					await this.first(c);
					c._resolve();
				} catch (e) {
					c._reject(e);
					this.failed = this.failed || e;
				}
			}
		};
		for (let i = 0; i < Math.min(PARALLEL, queue.length); i++)
			starters.push(lane());
		this.allArrived = Promise.all(starters);
		this.stored = this.allArrived.then(() => this.failed ? null : this.storeAll());
		this.stored.catch(() => {});
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
			let got, o;
			if (pre)
				({ got, o } = pre);
			else {
				await this.putChain;   // its copy may still be on its way to the cache
				o = await this.open(c, true);
				got = await this.readToHeap(c, o, false);
			}
			await this.putChecked(c, got, o);
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
			await this.putChain;   // its copy may still be on its way to the cache
			// Not wanted any more, or held already (a copy is made before it is dropped).
			if (this.prefetch !== entry || api.has(c.k))
				return null;
			const o = await this.open(c, true);
			return { got: await this.readToArray(c, o, false), o };
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

	const L = new Loader(manifestUrl, manifest, req);
	await L.openCache();
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

	await L.chunks[0].arrived;    // the model and the tokenizer
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

	let ids = 0, tFirst = 0;
	for (;;) {
		const r = api.run();
		if (r === 0) {                       // SLW_TOKEN
			const text = api.text();
			ids++;
			if (ids === 1) {
				tFirst = now();
				stats.firstTokenMs = tFirst - t0;
			}
			post({ type: "text", text, ids, ms: now() - t0 });
			await yieldLoop();
		} else if (r === 1) {                // SLW_WAIT
			const k = api.waitChunk();
			await L.need(k);
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
	const tEnd = now();
	let st = {};
	try { st = JSON.parse(api.stats()); } catch (e) { /* fall back to ours */ }
	if (st.prompt_ids && st.prompt_s > 0)
		stats.promptTokS = st.prompt_ids / st.prompt_s;
	if (st.generated > 1 && st.gen_s > 0)
		stats.genTokS = st.generated / st.gen_s;
	else if (ids > 1)
		stats.genTokS = (ids - 1) / ((tEnd - tFirst) / 1000);
	// Every chunk has been seen (the streamed ones only by the cache) and stored.
	await L.allArrived;
	if (L.failed)
		throw L.failed;
	await L.stored;
	await Promise.all(L.cachePuts);
	if (stats.loadMs == null)
		stats.loadMs = now() - t0;
	stats.bytesFetched = L.fetched;
	stats.chunksFromCache = L.fromCache;
	stats.streamedChunks = L.chunks.length - L.resident.size;
	stats.puts = L.puts;
	stats.engine = st;
	stats.heldBytes = api.bytesHeld();
	post({ type: "done", stats });
}

self.onmessage = (e) => {
	const req = e.data;
	if (!req || req.type !== "run")
		return;
	run(req).catch((err) => post({ type: "error", message: String(err && err.message || err) }));
};
