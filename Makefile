# medic: build, test and run. `make help` lists the targets.
SHELL := /usr/bin/env bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
GOFLAGS_LAMBDA := -trimpath -tags lambda.norpc -ldflags='-s -w'
VENV := .venv

.PHONY: help tools browser test lint bench fuzz build demo deploy

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The Python tools requirements-dev.txt pins. Each is looked for where the
# tests look (.venv, then PATH); when any is missing, all are installed into
# .venv.
PY_TOOLS := moto_server cfn-lint

tools: ## make sure moto_server and cfn-lint exist (installs the pinned versions into .venv when missing)
	@missing=; for t in $(PY_TOOLS); do \
	  [ -x $(VENV)/bin/$$t ] || command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "missing:$$missing: installing requirements-dev.txt into $(VENV)"; \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -r requirements-dev.txt || exit 1; \
	  for t in $$missing; do [ -x $(VENV)/bin/$$t ] || { echo "$$t still missing after installing requirements-dev.txt into $(VENV)"; exit 1; }; done; \
	fi

test: tools browser ## run every test (unit and integration; starts moto_server itself)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

ACTIONLINT := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

lint: tools ## gofmt, go vet, cfn-lint and actionlint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@# .venv's cfn-lint (the pinned one, which `make tools` installs when PATH has none) first, as the tests do.
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cfn-lint template.yaml templates/member.yaml
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml

bench: ## run the benchmarks with allocation figures
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo: tools ## run the whole loop locally: moto + medic serve + a Slack test server, alarm -> approve -> ECS change (KEEP=1 keeps the console open)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(GO) run ./cmd/medic demo $(if $(KEEP),--keep)

# The browser tests (the maintenance page in internal/maintpage, the
# console in internal/server) drive a headless Chromium from the
# distribution's packages; they skip without one (and fail on CI).
browser: ## make sure a headless Chromium exists (installs Debian's chromium package when missing)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium package (the browser tests need it)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

build: ## build every Lambda's bootstrap into .aws-sam/build-local/<name>/bootstrap
	@for f in $(FUNCTIONS); do \
	  echo "build $$f"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o .aws-sam/build-local/$$f/bootstrap ./functions/$$f || exit 1; \
	done

# SAM's `BuildMethod: makefile` calls build-<LogicalId> with ARTIFACTS_DIR set.
build-AlarmFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/alarm
build-SlackFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/slack
build-ExecutorFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/executor
build-MaintenanceFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/maintenance

deploy: ## sam build && sam deploy (needs aws-sam-cli and AWS credentials)
	@command -v sam >/dev/null || { echo "deploy needs aws-sam-cli (https://docs.aws.amazon.com/serverless-application-model/)"; exit 1; }
	sam build && sam deploy
