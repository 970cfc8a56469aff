/*
 * test_err — lib/'s error state: each message comes with a code (and, for failed system
 * calls, the errno), a prefix keeps the code, and a real failure sets the code a caller
 * can test instead of the text (sl-tok's output errors).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sl_err.h"
#include "sl_map.h"
#include "sl_tokio.h"

int main(void)
{
	CHECK(sl_errcode() == SL_E_NONE && strcmp(sl_error(), "") == 0);

	CHECK(sl_seterr("%s: bad magic", "m.gguf") == -1);
	CHECK(strcmp(sl_error(), "m.gguf: bad magic") == 0);
	CHECK(sl_errcode() == SL_E_FORMAT && sl_errno() == 0);

	CHECK(sl_seterr_code(SL_E_UNSUPPORTED, "dtype %s", "I64") == -1);
	CHECK(strcmp(sl_error(), "dtype I64") == 0 && sl_errcode() == SL_E_UNSUPPORTED);

	CHECK(sl_seterr_sys(ENOENT, "%s", "/x/y") == -1);
	CHECK_MSG(strcmp(sl_error(), "/x/y: No such file or directory") == 0, "got '%s'", sl_error());
	CHECK(sl_errcode() == SL_E_IO && sl_errno() == ENOENT);
	CHECK(sl_preferr("model") == -1);
	CHECK(strcmp(sl_error(), "model: /x/y: No such file or directory") == 0);
	CHECK(sl_errcode() == SL_E_IO && sl_errno() == ENOENT); /* the prefix keeps the code */

	sl_seterr_sys(ENOMEM, "buffer");
	CHECK(sl_errcode() == SL_E_NOMEM && sl_errno() == ENOMEM);
	sl_seterr("plain");
	CHECK(sl_errcode() == SL_E_FORMAT && sl_errno() == 0); /* a new message resets both */

	/* Real failures: a missing file, and ids written to a full device. */
	sl_map m;
	CHECK(sl_map_open(&m, "/nonexistent/test_err") == -1);
	CHECK(sl_errcode() == SL_E_IO && sl_errno() == ENOENT);
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		int rc = 0;
		for (int i = 0; i < 10000 && rc == 0; i++)
			rc = sl_tokout(full, i, 0);
		if (rc == 0)
			rc = sl_tokout(full, 1, 1);
		CHECK(rc == -1);
		CHECK_MSG(sl_errcode() == SL_E_IO && sl_errno() == ENOSPC, "code %d errno %d: %s",
			  sl_errcode(), sl_errno(), sl_error());
		CHECK(strcmp(sl_error(), "stdout: No space left on device") == 0);
		fclose(full);
	}
	return CHECK_DONE();
}
