#!/usr/bin/env node
// screenshot.mjs — docs/screenshot.png: the page after a run of the embedded stories260K, in
// Debian's headless Chromium (the README's picture).   node scripts/screenshot.mjs [out.png]
// Needs make wasm and models/stories260K/ (make serve or make check-web build both).
import { join } from "node:path";
import { ROOT, startServer, launch } from "../tests/web/lib.mjs";

const out = process.argv[2] || join(ROOT, "docs/screenshot.png");
const srv = await startServer({ isolation: true });
const b = await launch();
try {
	const page = await b.context.newPage();
	await page.setViewportSize({ width: 880, height: 600 });
	await page.emulateMedia({ colorScheme: process.env.SCHEME === "dark" ? "dark" : "light" });
	const q = new URLSearchParams({ model: "models/stories260K/manifest.json", prompt: "Once upon a time, in a small town by the sea,",
		n: "120", temp: "0.8", seed: "3", threads: "2", autorun: "1" });
	await page.goto(`${srv.url}index.html?${q}`);
	await page.waitForFunction(() => /^(done|error: )/.test(document.getElementById("status").textContent), null, { timeout: 60000 });
	const status = await page.textContent("#status");
	if (status !== "done")
		throw new Error(`the page ended with ${status}`);
	await page.screenshot({ path: out, fullPage: true });
	console.log(out);
} finally {
	await b.close();
	await srv.close();
}
