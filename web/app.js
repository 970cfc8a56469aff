/*
 * app.js — the page: the form, the device profile, the progress and the text.  All model
 * work is in worker.js (one Worker per run).
 *
 * Automation (web/README.md): index.html?model=URL&prompt=TEXT&n=N&temp=T&seed=S&threads=K
 * [&top_p=P&top_k=K&profile=low|mid|high|unlimited&budget=MB&build=one]&autorun=1 runs once; the
 * generated text (without the prompt) is in #output, #status ends as "done" or "error: …",
 * and window.slStats holds {loadMs, firstTokenMs, promptTokS, genTokS, bytesFetched,
 * chunksFromCache, threads, simd}.
 */
"use strict";

const $ = (id) => document.getElementById(id);
const PROFILES = { low: 600e6, mid: 800e6, high: 1200e6, unlimited: 0 };

const isolated = self.crossOriginIsolated === true && typeof SharedArrayBuffer === "function";
const cores = navigator.hardwareConcurrency || 1;
const memGB = navigator.deviceMemory; // GB, rounded and capped by the browser; may be absent

/* The profile this device gets unless one is chosen: by navigator.deviceMemory. */
function detectProfile() {
	if (!memGB)
		return "unlimited";
	if (memGB <= 2)
		return "low";
	if (memGB <= 4)
		return "mid";
	if (memGB < 8)
		return "high";
	return "unlimited";
}

function fmtBytes(n) {
	if (n == null)
		return "–";
	if (n < 1e3)
		return `${n} B`;
	if (n < 1e6)
		return `${(n / 1e3).toFixed(1)} kB`;
	if (n < 1e9)
		return `${(n / 1e6).toFixed(1)} MB`;
	return `${(n / 1e9).toFixed(2)} GB`;
}
const fmtMs = (ms) => ms == null ? "–" : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
const fmtRate = (r) => r == null || !isFinite(r) ? "–" : `${r < 10 ? r.toFixed(2) : r.toFixed(1)} tok/s`;

function layerText(layers) {
	if (!layers.length)
		return "core";
	return layers.length === 1 ? `layer ${layers[0]}` : `layers ${layers[0]}–${layers[layers.length - 1]}`;
}

/* "layers 0–11" over a list of chunks (their layers are consecutive when the list is). */
function spanText(chunks) {
	const ls = chunks.flatMap((c) => c.layers);
	if (!ls.length)
		return "";
	return ls.length === 1 ? `layer ${ls[0]}` : `layers ${ls[0]}–${ls[ls.length - 1]}`;
}

let worker = null;
let fetcher = null;
let state = null;

function setStatus(text, cls) {
	const s = $("status");
	s.textContent = text;
	s.className = cls || "";
}

function showDevice() {
	const parts = [
		memGB ? `device memory ${memGB} GB` : "device memory not reported",
		`${cores} logical core${cores === 1 ? "" : "s"}`,
		isolated ? "cross-origin isolated: threads available" : "not cross-origin isolated",
		`profile detected: ${detectProfile()}`,
	];
	$("device").textContent = parts.join(" · ");
	$("isolation-note").hidden = isolated;
	const th = $("threads");
	if (!isolated) {
		th.value = 1;
		th.disabled = true;
		th.title = "one thread: the page is not cross-origin isolated";
	} else {
		th.value = Math.min(cores, 8);
	}
}

function readParams() {
	const q = new URLSearchParams(location.search);
	for (const k of ["model", "prompt", "n", "temp", "seed", "threads", "top_p"])
		if (q.has(k) && !(k === "threads" && !isolated))
			$(k).value = q.get(k);
	const profile = q.get("profile");
	$("profile").value = profile && profile in PROFILES ? profile : detectProfile();
	return {
		autorun: q.get("autorun") === "1",
		budgetMB: q.has("budget") ? parseFloat(q.get("budget")) : null,
		topK: q.has("top_k") ? parseInt(q.get("top_k"), 10) : 0,
		build: q.get("build") === "one" ? "one" : null,   // the one-thread build even when isolated
	};
}

function drawChunks(plan) {
	const box = $("chunks");
	box.textContent = "";
	state.cells = plan.chunks.map((c) => {
		const el = document.createElement("span");
		el.className = c.k === 0 ? "core waiting" : "waiting";
		el.title = `${c.file} · ${layerText(c.layers)} · ${fmtBytes(c.size)}`;
		box.appendChild(el);
		return el;
	});
	const byK = (ks) => ks.map((k) => plan.chunks[k]);
	const res = byK(plan.resident), str = byK(plan.streamed);
	let text = `resident: core${res.length > 1 ? " + " + spanText(res) : ""} (${fmtBytes(plan.residentBytes)})`;
	if (str.length)
		text += ` · streamed from the cache for every id: ${spanText(str)} (${fmtBytes(plan.streamedBytes)})`;
	text += plan.budget ? ` · budget ${fmtBytes(plan.budget)}, state ≈ ${fmtBytes(plan.stateBytes)}` : " · no memory budget";
	$("plan").textContent = text;
}

function stopWorkers() {
	if (worker)
		worker.terminate();
	if (fetcher)
		fetcher.terminate();
	worker = fetcher = null;
}

function start(opts) {
	stopWorkers();
	const prompt = $("prompt").value;
	const profile = $("profile").value;
	let budget = PROFILES[profile] || 0;
	if (opts.budgetMB != null && isFinite(opts.budgetMB))
		budget = Math.max(0, opts.budgetMB * 1e6);
	const req = {
		type: "run",
		model: new URL($("model").value.trim(), location.href).href,
		prompt,
		n: Math.max(1, parseInt($("n").value, 10) || 1),
		temp: Math.max(0, parseFloat($("temp").value) || 0),
		topP: Math.min(1, Math.max(0, parseFloat($("top_p").value))),
		topK: opts.topK || 0,
		seed: parseFloat($("seed").value) || 0,
		threads: isolated ? Math.max(1, parseInt($("threads").value, 10) || 1) : 1,
		budget,
		build: opts.build,
	};
	if (!isFinite(req.topP))
		req.topP = 1;
	state = { t0: performance.now(), ids: 0, cells: [], tFirst: 0, text: "" };
	window.slStats = undefined;
	$("prompt-echo").textContent = prompt;
	$("output").textContent = "";
	$("caret").hidden = false;
	$("bar-fill").style.width = "0";
	$("progress-text").textContent = "";
	for (const id of ["s-prompt", "s-gen", "s-first", "s-load"])
		$(id).textContent = "–";
	setStatus("loading");
	$("go").disabled = true;
	$("stop").disabled = false;

	// The model's Worker, and the chunk I/O's beside it, joined by a channel (fetch.js).
	const ch = new MessageChannel();
	fetcher = new Worker("fetch.js");
	fetcher.onmessage = (e) => onMessage(e.data);
	fetcher.onerror = (e) => finish({ type: "error", message: e.message || "the chunk fetcher failed" });
	fetcher.postMessage({ type: "port", port: ch.port1 }, [ch.port1]);
	worker = new Worker("worker.js");
	worker.onmessage = (e) => onMessage(e.data);
	worker.onerror = (e) => finish({ type: "error", message: e.message || "the worker failed" });
	worker.postMessage({ ...req, port: ch.port2 }, [ch.port2]);
}

function finish(m) {
	$("caret").hidden = true;
	$("go").disabled = false;
	$("stop").disabled = true;
	stopWorkers();
	if (m.type === "done") {
		window.slStats = m.stats;
		showStats(m.stats);
		setStatus("done", "done");
	} else {
		setStatus(`error: ${m.message}`, "error");
	}
}

function showProgress() {
	if (!state.total)
		return;
	const seen = Math.min(state.seen || 0, state.total);
	const pct = 100 * seen / state.total;
	$("bar-fill").style.width = `${pct.toFixed(1)}%`;
	$("bar").setAttribute("aria-valuenow", pct.toFixed(0));
	$("progress-text").textContent = `${fmtBytes(seen)} of ${fmtBytes(state.total)} · ` +
		`${state.done || 0}/${state.n} chunks` + (state.fromCache ? ` · ${state.fromCache} from the cache` : "");
}

function showStats(s) {
	$("s-prompt").textContent = fmtRate(s.promptTokS);
	$("s-gen").textContent = fmtRate(s.genTokS);
	$("s-first").textContent = fmtMs(s.firstTokenMs);
	$("s-load").textContent = fmtMs(s.loadMs);
}

function onMessage(m) {
	switch (m.type) {
	case "info":
		$("s-engine").textContent = `${m.build} · ${m.threads} thread${m.threads === 1 ? "" : "s"}` +
			`${m.info.simd ? " · SIMD128" : ""}${m.info.kernels ? " · " + m.info.kernels + " kernels" : ""}`;
		break;
	case "plan":
		drawChunks(m);
		state.total = m.chunks.reduce((t, c) => t + c.size, 0);
		state.n = m.chunks.length;
		showProgress();
		break;
	case "chunk":
		if (state.cells[m.k])
			state.cells[m.k].className = (m.k === 0 ? "core " : "") + m.state;
		break;
	case "io":          // fetch.js: bytes of first loads so far
		state.seen = m.seen;
		showProgress();
		break;
	case "io-chunk":    // fetch.js: a chunk's first load started
		if (state.cells[m.k] && /waiting/.test(state.cells[m.k].className))
			state.cells[m.k].className = (m.k === 0 ? "core " : "") + "fetching";
		break;
	case "progress":    // worker.js: chunks in
		Object.assign(state, { total: m.total, done: m.done, n: m.n, fromCache: m.fromCache });
		showProgress();
		break;
	case "text":
		$("output").textContent += m.text;
		state.ids = m.ids;
		if (m.ids === 1 && !state.tFirst) {
			state.tFirst = performance.now();
			$("s-first").textContent = fmtMs(state.tFirst - state.t0);
		}
		if (m.ids > 1)
			$("s-gen").textContent = fmtRate((m.ids - 1) / ((performance.now() - state.tFirst) / 1000));
		if ($("status").textContent === "loading")
			setStatus("generating");
		break;
	case "done":
	case "error":
		finish(m);
		break;
	}
}

function stop() {
	if (worker)
		finish({ type: "error", message: "stopped" });
}

showDevice();
const opts = readParams();
$("form").addEventListener("submit", (e) => {
	e.preventDefault();
	start(opts);
});
$("stop").addEventListener("click", stop);
if (opts.autorun)
	start(opts);
