# SwiftVITS — the two commands of the README's Quick start, and their helpers.
#   make demo    bootstrap, release build, run the main job
#   make test    bootstrap, run the whole test suite (release mode: kernels must be optimized)
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/vits

# Debian packages the native targets link against (see docs/dependencies.md).
APT_PACKAGES := pkg-config libsndfile1-dev libsoxr-dev libfftw3-dev libopenblas-dev espeak-ng libespeak-ng-dev
# Open MPI for data-parallel training (`mpirun -np N vits train`): loaded at run time, never linked,
# so only `make test` (the 2-rank tests) and users who train on several ranks need it.
MPI_PACKAGES := openmpi-bin libopenmpi3

.PHONY: bootstrap bootstrap-mpi build demo test bench bench-compare clean

## bootstrap: install the missing Debian packages (safe to run again; installs nothing when all are present)
bootstrap:
	@bash scripts/bootstrap.sh $(APT_PACKAGES)

## bootstrap-mpi: Open MPI's mpirun and libmpi.so.40 (data-parallel training; docs/training.md "Several machines")
bootstrap-mpi:
	@bash scripts/bootstrap.sh $(MPI_PACKAGES)

## build: release build of the `vits` binary
build: bootstrap
	$(SWIFT) build -c $(CONFIG) --product vits

## demo: the main job (see README)
demo: build
	@bash scripts/demo.sh $(BIN)

## test: the whole suite, optimized (unoptimized kernels are 10-100x slower). The CLI is built first:
## some tests drive the real binary (crash safety of training runs), and the CI-sized quickstart
## recipe runs every stage end to end (generate → prepare → doctor → train → finetune → export → synthesize).
## The data-parallel tests run the binary under `mpirun -np 2 --oversubscribe` (bootstrap-mpi).
test: bootstrap bootstrap-mpi
	$(SWIFT) build -c $(CONFIG) --product vits
	VITS=$(CURDIR)/$(BIN) bash recipes/quickstart/ci-check.sh
	$(SWIFT) test -c $(CONFIG)

## bench: every benchmark, JSON lines on stdout
bench: build
	$(BIN) bench features --json
	$(BIN) bench ops --json
	$(BIN) bench g2p --json

## bench-compare: ours vs the reference PyTorch VITS and librosa, interleaved, on a quiet machine only
##   make bench-compare VITS_REPO=/path/to/jaywalnut310-vits [AUTHORS_REPO=/path/to/MB-iSTFT-VITS] [ROUNDS=5] [CORES=0]
##   (without AUTHORS_REPO the iSTFT-decoder workloads are skipped)
bench-compare: build
	bash scripts/bench/compare.sh --vits $(BIN) --vits-repo "$(VITS_REPO)" $(if $(AUTHORS_REPO),--authors-repo "$(AUTHORS_REPO)") --rounds $(or $(ROUNDS),5) --cores $(or $(CORES),0) --memory

clean:
	rm -rf .build out
