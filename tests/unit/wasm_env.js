// Linked into the unit tests' wasm builds (web/web.mk, --pre-js): emscripten's getenv sees
// only its own ENV, not node's, so the SL_* variables (SL_KERNELS above all) are copied in.
// ENV exists only in programs that call getenv.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
	if (typeof ENV === 'undefined' || typeof process !== 'object' || !process.env)
		return;
	for (var k in process.env)
		if (k.indexOf('SL_') === 0)
			ENV[k] = process.env[k];
});
