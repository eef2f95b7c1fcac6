# Two commands for a new user: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
# Two install markers, each depending on pyproject.toml (editing dependencies reinstalls):
# RUNTIME is what `make run` needs; DEV adds the test and lint tools on top.
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev
# llama.cpp's AMX kernels crash the model server on the first answer on some Xeons (a general protection
# fault in ggml_backend_amx_mul_mat, llama.cpp issues 20824 and 26954), so the local model is built without
# them wherever the compiler knows the flag (x86-64, GCC >= 11 or clang >= 12; older ones never build them).
NO_AMX := $(shell echo | $${CC:-cc} -mno-amx-int8 -E -x c - >/dev/null 2>&1 && echo -mno-amx-int8)
export CMAKE_ARGS := $(strip $(CMAKE_ARGS) $(if $(NO_AMX),-DCMAKE_C_FLAGS=$(NO_AMX) -DCMAKE_CXX_FLAGS=$(NO_AMX)))

.PHONY: install run test lint bench eval eval-answers clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(RUNTIME): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "需要 Python 3.11 或更高版本" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
# pip's cache of built wheels ignores CMAKE_ARGS: a new .venv never takes an older build of llama.cpp
	$(BIN)/python -c 'import llama_cpp' 2>/dev/null || $(BIN)/pip cache remove llama_cpp_python >/dev/null 2>&1 || true
	$(BIN)/pip install --quiet -e .
	touch $@

# torch is pinned before the test extras so that sentence-transformers takes this build rather than
# pulling the newest CUDA build.
$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[st,postgres,redis,dev]"
	touch $@

install: $(RUNTIME)  ## create .venv and install Xiaobao with its models (the runtime only)

# make run serves the demo pack in demo mode: its sample identities may be picked, and every page says so
run: $(RUNTIME)  ## install, prepare the models, load the demo knowledge, start the service and print its URL
	$(BIN)/xiaobao init
	XIAOBAO_DEMO_MODE=true $(BIN)/xiaobao serve

test: $(DEV)  ## install with the test tools, check the layers, then run the whole test suite
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -ra

lint: $(DEV)  ## ruff and the import layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(RUNTIME)  ## ingest and search benchmark on the full laws corpus (about 30 minutes cold)
	$(BIN)/xiaobao --data-dir var/bench bench --corpus $(SHARED)/corpus/laws \
		--queries $(SHARED)/eval/lecoqa-dev.jsonl --json docs/eval/bench.json

eval: $(RUNTIME)  ## retrieval evaluation on the dev sets (reuses the bench index and cache)
	$(BIN)/xiaobao --data-dir var/bench eval retrieval --queries $(SHARED)/eval/lecoqa-dev.jsonl \
		--corpus $(SHARED)/corpus/laws --report docs/eval/lecoqa-dev.md --json docs/eval/lecoqa-dev.json
	$(BIN)/xiaobao --data-dir var/bench eval retrieval --queries $(SHARED)/eval/bj-faq-dev.jsonl \
		--corpus $(SHARED)/corpus/bj-faq-dev-answers.jsonl --report docs/eval/bj-faq-dev.md --json docs/eval/bj-faq-dev.json

eval-answers: $(RUNTIME)  ## the whole engine with the local model on 100 lecoqa-dev, 50 bj-faq-dev and 30 out-of-scope questions
	$(BIN)/xiaobao --data-dir var/bench eval answers --queries $(SHARED)/eval/lecoqa-dev.jsonl --queries eval/data/out_of_scope.jsonl \
		--corpus $(SHARED)/corpus/laws --limit 100 --json docs/eval/answers-lecoqa.json
	$(BIN)/xiaobao --data-dir var/bench eval answers --queries $(SHARED)/eval/bj-faq-dev.jsonl --queries eval/data/out_of_scope.jsonl \
		--corpus $(SHARED)/corpus/bj-faq-dev-answers.jsonl --limit 50 --json docs/eval/answers-bj-faq.json

clean:  ## remove the virtual environment (data in var/ is kept)
	rm -rf $(VENV)
