# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
SERVICES := scripts/services.sh
# the environment of the local services, for every recipe line that needs it
WITH_ENV = eval "$$($(SERVICES) env)" &&

.PHONY: test demo services bench fuzz build vet clean-services

build:
	$(GO) build -o bin/contiple-worker ./cmd/contiple-worker

services:
	$(SERVICES) up

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: services vet
	$(WITH_ENV) $(GO) test -race -shuffle=on -count=1 -timeout 45m ./...

# Every benchmark five times; the table gives the median of each metric.
bench: services
	$(WITH_ENV) $(GO) test -run '^$$' -bench . -benchtime 2s -count 5 -timeout 60m ./... | tee bench.out
	@echo && $(GO) run ./internal/benchtable < bench.out | tee bench.txt

# Every fuzz target of every package for FUZZTIME each (the parsers, reply
# extraction, addresses, charsets, threading, mail headers). Seeds come from the
# corpus and testdata; a failure leaves its input under testdata/fuzz/.
FUZZTIME ?= 1m
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -timeout 0 $$pkg; \
	  done; \
	done

# The life of three tickets told as it happens (mail in, hold, reply, Dooray! by
# webhook and by poll, resolve, complete) against the local services and a Dooray!
# fake; then the dashboard and the API until Ctrl-C. See bin/contiple-worker demo --help.
demo: build services
	$(WITH_ENV) bin/contiple-worker demo

clean-services:
	$(SERVICES) down
