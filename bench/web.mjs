#!/usr/bin/env node
// web.mjs — the page's speed in Debian's headless Chromium (make bench-web, via bench/web.sh).
//
//   node bench/web.mjs CHUNKDIR [threads...]      (default threads: 1 2)
//
// For each thread count: a browser with a fresh profile (so a cold Cache API), the page on a
// loopback server with COOP/COEP (scripts/serve.py, CHUNKDIR's parent at /models/), greedy,
// a ~32-id prompt, N_GEN ids (default 64): prompt tok/s (its ids over the time in slw_run
// until the first id, not counting the waits for chunks), generation tok/s (first to last
// id), the time until every chunk was in (load), the first generated id from the cold cache
// (from the moment the page asked for the model), and the peak RSS of the page's renderer
// process (the page, its Worker and the pthread workers live there), read from /proc.
// Then the same with the cache warm (a second load in the same browser).  Prints a Markdown
// table (also written to bench/out/web.md by bench/web.sh).
import { readFileSync, readdirSync } from "node:fs";
import { loadavg, cpus } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { startServer, launch, runPage } from "../tests/web/lib.mjs";

const dir = resolve(process.argv[2] || "");
const threadList = process.argv.slice(3).map(Number).filter((t) => t > 0);
if (!process.argv[2] || !threadList.every(Number.isFinite)) {
	console.error("usage: node bench/web.mjs CHUNKDIR [threads...]");
	process.exit(2);
}
if (!threadList.length)
	threadList.push(1, 2);
const N_GEN = Number(process.env.N_GEN || 64);
// About 32 ids with SmolLM's tokenizer (as wllama's figures in issue 13 were taken).
const PROMPT = process.env.PROMPT || "The old lighthouse keeper climbed the spiral stairs every evening at dusk, " +
	"carrying a lantern, a notebook and a flask of tea, to watch the ships sail past";

const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, "utf8"));
const bytes = manifest.chunks.reduce((s, c) => s + c.size, 0);

/* The RSS of the largest renderer process of the browser whose profile is userDir: the
 * page's (its Worker and the pthread workers are threads of it); not the browser's own UI. */
function rendererRss(userDir) {
	let max = 0;
	for (const p of readdirSync("/proc")) {
		if (!/^\d+$/.test(p))
			continue;
		try {
			// Chromium rewrites its children's argv as one string: match words in it.
			const cmd = ` ${readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ")} `;
			if (!cmd.includes(" --type=renderer ") || !cmd.includes(` --user-data-dir=${userDir} `) || cmd.includes(" --top-chrome-webui "))
				continue;
			const m = readFileSync(`/proc/${p}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
			if (m)
				max = Math.max(max, Number(m[1]) * 1024);
		} catch (e) { /* gone */ }
	}
	return max;
}

async function measure(srv, threads) {
	const b = await launch();
	let peak = 0;
	const timer = setInterval(() => { peak = Math.max(peak, rendererRss(b.dir)); }, 100);
	try {
		const params = { model: `models/${basename(dir)}/manifest.json`, prompt: PROMPT, n: String(N_GEN),
			temp: "0", seed: "1", threads: String(threads), profile: "unlimited" };
		const cold = await runPage(b.context, srv.url, params, { timeoutMs: 600000 });
		if (cold.status !== "done")
			throw new Error(`${threads} threads: ${cold.status}\n${cold.logs.join("\n")}`);
		const peakCold = peak;
		const warm = await runPage(b.context, srv.url, params, { timeoutMs: 600000 });
		if (warm.status !== "done")
			throw new Error(`${threads} threads, warm: ${warm.status}`);
		return { threads, cold: cold.stats, warm: warm.stats, peakCold, peak };
	} finally {
		clearInterval(timer);
		await b.close();
	}
}

const f1 = (x) => x == null ? "–" : x.toFixed(1);
const f2 = (x) => x == null ? "–" : x.toFixed(2);
const sec = (ms) => ms == null ? "–" : (ms / 1000).toFixed(2) + " s";
const mib = (b) => (b / 2 ** 20).toFixed(0) + " MiB";

const srv = await startServer({ isolation: true, models: dirname(dir) });
const rows = [];
try {
	for (const t of threadList) {
		console.error(`bench/web.mjs: ${basename(dir)}, ${t} thread${t > 1 ? "s" : ""} ...`);
		rows.push(await measure(srv, t));
	}
} finally {
	await srv.close();
}

const e0 = rows[0].cold.engine || {};
const out = [];
out.push(`## The page in headless Chromium: ${manifest.model.name || basename(dir)} (${manifest.chunks.length} chunks, ${(bytes / 1e9).toFixed(2)} GB)`);
out.push("");
out.push(`Greedy, a ${e0.prompt_ids ?? "?"}-id prompt, ${N_GEN} ids asked (${rows.map((r) => (r.cold.engine || {}).generated ?? "?").join(" / ")} generated), ` +
	`build ${rows.map((r) => r.cold.build).join(" / ")}, SIMD128 ${rows[0].cold.simd ? "on" : "off"}, kernels ${e0.kernels ?? "?"}. ` +
	"Cold: a fresh browser profile (empty Cache API); warm: a second load in the same browser.");
out.push("");
out.push("| threads | prompt tok/s | generation tok/s (cold / warm) | load (cold) | first id (cold) | first id (warm) | fetched (cold) | renderer memory (peak RSS) |");
out.push("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
	out.push(`| ${r.threads} | ${f1(r.cold.promptTokS)} | ${f2(r.cold.genTokS)} / ${f2(r.warm.genTokS)} | ${sec(r.cold.loadMs)} | ${sec(r.cold.firstTokenMs)} | ` +
		`${sec(r.warm.firstTokenMs)} | ${(r.cold.bytesFetched / 1e6).toFixed(0)} MB | ${mib(r.peakCold)} |`);
out.push("");
for (const r of rows) {
	const t = r.cold.timing || {};
	const s = (ms) => ms == null ? "?" : (ms / 1000).toFixed(2);
	out.push(`${r.threads} thread${r.threads > 1 ? "s" : ""}, cold, until the first id: core chunk in and model made at ${s(t.beginMs)} s; ` +
		`the prompt computing ${s(t.promptRunMs)} s and waiting for chunks ${s(t.promptWaitMs)} s; slw_put (copy, XXH3-128, header) ${s(t.putMs)} s.`);
	out.push("");
}
out.push(`Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(" ")} on ${cpus().length} CPUs (other work on the machine slows every figure).`);
out.push("");
out.push("wllama 3.13 (llama.cpp in WebAssembly, its multi-thread build, COOP/COEP page, greedy, 32-id prompt), " +
	"measured in headless Chromium 156 on this machine type (issue 13):");
out.push("");
out.push("| model | threads | prompt tok/s | generation tok/s | load | renderer memory |");
out.push("|---|---:|---:|---:|---:|---:|");
out.push("| SmolLM-135M shape, Q4_0 | 1 / 2 | 18.6 / 27–33 | 13.9 / 23 | 1.4–1.8 s | 450–490 MiB |");
out.push("| SmolLM-1.7B shape, Q4_0 | 1 / 2 | 1.3 / 2.6 | 1.2 / 2.2 | 7.4–10.6 s | 1.7 GiB |");
out.push("");
const two = rows.find((r) => r.threads === 2);
if (two) {
	const g = two.cold.genTokS || 0, gw = two.warm.genTokS || 0, ft = two.cold.firstTokenMs || Infinity;
	out.push(`Targets (issue 13): generation ≥ 9 tok/s with 2 threads: cold ${f2(g)} (${g >= 9 ? "met" : "not met"}), ` +
		`warm ${f2(gw)} (${gw >= 9 ? "met" : "not met"}); ` +
		`first id from a cold cache sooner than wllama's load alone (7.4 s): ${sec(ft)} (${ft < 7400 ? "met" : "not met"}).`);
}
console.log(out.join("\n"));
