/* fuzz_manifest.c — a chunk directory's manifest.json (sl_manifest): read and validated,
 * then written back and read again (what sl-chunk writes must read back). */
#include "fuzz.h"
#include "sl_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_manifest m;
	char what[64];

	if (!fuzz_write(SL_MANIFEST_NAME, data, size))
		return 0;
	memset(&m, 0, sizeof m);
	if (sl_manifest_read(&m, fuzz_dir()) != 0)
		return 0;
	for (int i = 0; i < m.n_c; i++)
		sl_manifest_what(&m.c[i], what, sizeof what);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int rc = f ? sl_manifest_write(&m, f) : -1;
	if (f)
		fclose(f);
	sl_manifest_free(&m);
	if (rc == 0) {
		fuzz_write(SL_MANIFEST_NAME, out, len);
		memset(&m, 0, sizeof m);
		/* What was written from a valid manifest must read back. */
		if (sl_manifest_read(&m, fuzz_dir()) != 0)
			abort();
		sl_manifest_free(&m);
	}
	free(out);
	return 0;
}
