// Linked into the unit tests' wasm builds (web/web.mk, --pre-js): emscripten's getenv sees
// only its own ENV, not node's, so the SL_* variables (SL_KERNELS above all) are copied in.
Module['preRun'] = Module['preRun'] || [];
Module['preRun'].push(function () {
	if (typeof process === 'object' && process.env)
		for (var k in process.env)
			if (k.indexOf('SL_') === 0)
				ENV[k] = process.env[k];
});
