/*
 * info — sl-quant --info (info.c).
 */
#ifndef SL_QUANT_INFO_H
#define SL_QUANT_INFO_H

#include "sl_gguf.h"
#include "sl_hf.h"

/* Describe an open HF directory or GGUF file (in is its name as given) on stdout. */
void info_hf(const char *in, const sl_hf *m);
void info_gguf(const char *in, const sl_gguf *g);

#endif
