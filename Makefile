# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
SERVICES := scripts/services.sh
# the environment of the local services, for every recipe line that needs it
WITH_ENV = eval "$$($(SERVICES) env)" &&

.PHONY: test demo services bench build vet clean-services

build:
	$(GO) build -o bin/contiple-worker ./cmd/contiple-worker

services:
	$(SERVICES) up

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: services vet
	$(WITH_ENV) $(GO) test -race -shuffle=on -count=1 -timeout 20m ./...

# Every benchmark five times; the table gives the median of each metric.
bench: services
	$(WITH_ENV) $(GO) test -run '^$$' -bench . -benchtime 2s -count 5 -timeout 60m ./... | tee bench.out
	@echo && $(GO) run ./internal/benchtable < bench.out | tee bench.txt

demo: services build
	$(WITH_ENV) export CONTIPLE_DASHBOARD_PASSWORD=$${CONTIPLE_DASHBOARD_PASSWORD:-demo} && \
	  bin/contiple-worker migrate && \
	  echo "dashboard: http://127.0.0.1:8080/monitoring/ (user admin, password $$CONTIPLE_DASHBOARD_PASSWORD)" && \
	  bin/contiple-worker serve --config config.example.yaml

clean-services:
	$(SERVICES) down
