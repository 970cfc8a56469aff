/*
 * sl_llama — the Llama tensor schema (sl_llama.h).
 */
#include <stdio.h>

#include "sl_llama.h"

const sl_llama_tensor sl_llama_layer[SL_LLAMA_LAYER_TENSORS] = {
	{"attn_norm",   "input_layernorm",          SL_LD_ONE,  SL_LD_EMBD, SL_LP_NONE, -1},
	{"attn_q",      "self_attn.q_proj",         SL_LD_Q,    SL_LD_EMBD, SL_LP_Q,    SL_LM_Q},
	{"attn_k",      "self_attn.k_proj",         SL_LD_KV,   SL_LD_EMBD, SL_LP_K,    SL_LM_K},
	{"attn_v",      "self_attn.v_proj",         SL_LD_KV,   SL_LD_EMBD, SL_LP_NONE, SL_LM_V},
	{"attn_output", "self_attn.o_proj",         SL_LD_EMBD, SL_LD_Q,    SL_LP_NONE, SL_LM_O},
	{"ffn_norm",    "post_attention_layernorm", SL_LD_ONE,  SL_LD_EMBD, SL_LP_NONE, -1},
	{"ffn_gate",    "mlp.gate_proj",            SL_LD_FF,   SL_LD_EMBD, SL_LP_NONE, SL_LM_GATE},
	{"ffn_up",      "mlp.up_proj",              SL_LD_FF,   SL_LD_EMBD, SL_LP_NONE, SL_LM_UP},
	{"ffn_down",    "mlp.down_proj",            SL_LD_EMBD, SL_LD_FF,   SL_LP_NONE, SL_LM_DOWN},
};

const sl_llama_tensor sl_llama_global[SL_LLAMA_GLOBAL_TENSORS] = {
	[SL_LG_EMBD]     = {"token_embd.weight",  "model.embed_tokens.weight", SL_LD_VOCAB, SL_LD_EMBD, SL_LP_NONE, -1},
	[SL_LG_OUT_NORM] = {"output_norm.weight", "model.norm.weight",         SL_LD_ONE,   SL_LD_EMBD, SL_LP_NONE, -1},
	[SL_LG_OUTPUT]   = {"output.weight",      "lm_head.weight",            SL_LD_VOCAB, SL_LD_EMBD, SL_LP_NONE, -1},
};

int sl_llama_is_global(const sl_llama_tensor *t)
{
	return t >= sl_llama_global && t < sl_llama_global + SL_LLAMA_GLOBAL_TENSORS;
}

char *sl_llama_gguf_name(char *buf, size_t n, const sl_llama_tensor *t, int layer)
{
	if (sl_llama_is_global(t))
		snprintf(buf, n, "%s", t->gguf);
	else
		snprintf(buf, n, "blk.%d.%s.weight", layer, t->gguf);
	return buf;
}

char *sl_llama_hf_name(char *buf, size_t n, const sl_llama_tensor *t, int layer)
{
	if (sl_llama_is_global(t))
		snprintf(buf, n, "%s", t->hf);
	else
		snprintf(buf, n, "model.layers.%d.%s.weight", layer, t->hf);
	return buf;
}

sl_llama_dims sl_llama_dims_of(uint64_t embd, uint64_t n_heads, uint64_t n_kv_heads,
			       uint64_t head_dim, uint64_t ff, uint64_t vocab)
{
	sl_llama_dims d = {{0}};

	d.d[SL_LD_ONE] = 1;
	d.d[SL_LD_EMBD] = embd;
	d.d[SL_LD_Q] = n_heads * head_dim;
	d.d[SL_LD_KV] = n_kv_heads * head_dim;
	d.d[SL_LD_FF] = ff;
	d.d[SL_LD_VOCAB] = vocab;
	return d;
}
