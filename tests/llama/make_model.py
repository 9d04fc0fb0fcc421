"""Writes a tiny llama-architecture GGUF model for the tests.

The point is not what it knows but that a real llama.cpp server loads it and
answers with its real wire format (JSON, SSE, errors). Its weights are set,
not trained, so that its answers are known: the attention values and outputs
and every feed-forward weight are zero (queries and keys are random and do
not matter), so each position's state is its token's embedding; the embeddings
are one-hot, and the output layer maps "newline" to the piece " hello" and
" hello" to the end-of-turn token. After a ChatML prompt (which ends with
"assistant\n") the model says " hello" and stops, whatever the sampling.
With `--say "hello world"` it says each word in turn (one token each, from
the vocabulary below) and then stops: several tokens, for streaming.

usage: python make_model.py OUT.gguf [--context 256] [--say "hello world"]
"""

import argparse

import numpy as np
import gguf

N_EMBD = 64
N_HEAD = 4
N_LAYER = 2
N_FF = 128

# A small SentencePiece-style vocabulary: control tokens, the 256 byte
# fallbacks (so any text tokenizes), ChatML markers and some pieces.
PIECES = ["▁" + w for w in "the a to of and is in it you that hello world file test ok yes no".split()]
PIECES += list("abcdefghijklmnopqrstuvwxyz0123456789.,:;!?{}[]\"'_-/ ")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--say", default="hello")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types = [2, 3, 3, 3, 3]  # UNKNOWN, CONTROL…
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [6] * 256  # BYTE
    tokens += PIECES
    types += [1] * len(PIECES)  # NORMAL
    scores = [0.0] * 261 + [-float(i) for i in range(len(PIECES))]
    n_vocab = len(tokens)

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("warden-test-random")
    w.add_context_length(args.context)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)  # all F32
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(4)
    w.add_add_bos_token(False)
    w.add_chat_template(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )

    def zeros(name: str, *shape: int) -> None:
        w.add_tensor(name, np.zeros(shape, dtype=np.float32))

    def ones(name: str) -> None:
        w.add_tensor(name, np.ones(N_EMBD, dtype=np.float32))

    newline = tokens.index("<0x0A>")
    words = [tokens.index("▁" + word) for word in args.say.split()]
    if not words or len(set(words)) != len(words):
        parser.error("--say needs distinct words")
    eos = tokens.index("<|im_end|>")
    # One-hot embeddings: newline on dim 0, the i-th word on dim 1 + i,
    # every other token on one of the other dims.
    first_free = 1 + len(words)
    embd = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    for tok in range(n_vocab):
        embd[tok, first_free + tok % (N_EMBD - first_free)] = 1.0
    for dim, tok in enumerate([newline] + words):
        embd[tok] = 0.0
        embd[tok, dim] = 1.0
    w.add_tensor("token_embd.weight", embd)
    for i in range(N_LAYER):
        ones(f"blk.{i}.attn_norm.weight")
        # Random q and k (attention patterns vary) but zero v and output:
        # attention adds nothing to the residual stream.
        w.add_tensor(f"blk.{i}.attn_q.weight", (rng.standard_normal((N_EMBD, N_EMBD)) * 0.02).astype(np.float32))
        w.add_tensor(f"blk.{i}.attn_k.weight", (rng.standard_normal((N_EMBD, N_EMBD)) * 0.02).astype(np.float32))
        zeros(f"blk.{i}.attn_v.weight", N_EMBD, N_EMBD)
        zeros(f"blk.{i}.attn_output.weight", N_EMBD, N_EMBD)
        ones(f"blk.{i}.ffn_norm.weight")
        zeros(f"blk.{i}.ffn_gate.weight", N_FF, N_EMBD)
        zeros(f"blk.{i}.ffn_up.weight", N_FF, N_EMBD)
        zeros(f"blk.{i}.ffn_down.weight", N_EMBD, N_FF)
    ones("output_norm.weight")
    out = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    # After a newline the first word, after each word the next, after the
    # last the end of turn.
    for dim, tok in enumerate(words + [eos]):
        out[tok, dim] = 10.0
    w.add_tensor("output.weight", out)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
