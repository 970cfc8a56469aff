// Helpers of the browser tests and benches: a loopback server (scripts/serve.py), Debian's
// Chromium driven by playwright-core (never a downloaded browser), and one run of the page
// through its automation contract (web/README.md).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(ROOT, "package.json"));

export const CHROMIUM = process.env.SL_CHROMIUM || "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"];

/* scripts/serve.py on 127.0.0.1, a free port; resolves to {url, close()}. */
export function startServer({ root = join(ROOT, "web/dist"), models = join(ROOT, "models"), isolation = true } = {}) {
	const args = [join(ROOT, "scripts/serve.py"), "--port", "0", "--quiet", "--root", root, "--models", models];
	if (!isolation)
		args.push("--no-isolation");
	const p = spawn("/usr/bin/python3", args, { stdio: ["ignore", "pipe", "inherit"] });
	return new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error("serve.py printed no address in 10 s")), 10000);
		p.on("exit", (code) => reject(new Error(`serve.py exited (${code})`)));
		p.stdout.on("data", (d) => {
			out += d;
			const m = out.match(/serving (http:\/\/127\.0\.0\.1:\d+\/)/);
			if (m) {
				clearTimeout(timer);
				p.removeAllListeners("exit");
				resolve({ url: m[1], close: () => new Promise((r) => { p.once("exit", r); p.kill("SIGTERM"); }) });
			}
		});
	});
}

/* Chromium with a fresh profile (so a fresh, empty Cache API); resolves to {context, close()}. */
export async function launch() {
	let chromium;
	try {
		({ chromium } = require("playwright-core"));
	} catch (e) {
		throw new Error("playwright-core is missing: make deps (npm install)");
	}
	const dir = mkdtempSync(join(tmpdir(), "sl-chromium-"));
	const context = await chromium.launchPersistentContext(dir, {
		executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
	});
	return {
		context,
		dir,
		close: async () => {
			await context.close().catch(() => {});
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/* Open the page with these query parameters (autorun=1 added) and wait for #status to end:
 * {status, output, stats, isolationNote, plan, logs}. */
export async function runPage(context, base, params, { timeoutMs = 60000 } = {}) {
	const q = new URLSearchParams({ ...params, autorun: "1" });
	const page = await context.newPage();
	const logs = [];
	page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
	page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
	try {
		await page.goto(`${base}index.html?${q}`);
		await page.waitForFunction(() => {
			const s = document.getElementById("status").textContent;
			return s === "done" || s.startsWith("error: ");
		}, null, { timeout: timeoutMs, polling: 50 });
		return await page.evaluate(() => ({
			status: document.getElementById("status").textContent,
			output: document.getElementById("output").textContent,
			stats: window.slStats || null,
			isolated: self.crossOriginIsolated,
			isolationNote: document.getElementById("isolation-note").hidden ? null
				: document.getElementById("isolation-note").textContent.replace(/\s+/g, " ").trim(),
			plan: document.getElementById("plan").textContent,
			logs: [],
		})).then((r) => ({ ...r, logs }));
	} catch (e) {
		e.message += `\n  page log:\n    ${logs.join("\n    ")}`;
		throw e;
	} finally {
		await page.close();
	}
}
