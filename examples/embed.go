// Package examples holds medic's example policies: what a team's policies
// look like once medic acts (scaling checkout with one approval, rolling
// back its GitHub deploy, maintenance mode, steps chosen by evidence,
// shadow policies), their `medic policy test` fixtures (tests/) and the
// alarm payloads those fixtures feed (tests/alarms/, real-shaped
// EventBridge, SNS and Lambda-action events).
//
// They are not deployed: the binaries embed policies/, which starts with
// one shadow policy. The demo (`make demo`), the end-to-end tests and
// `medic simulate --policies examples` use these. Copy what fits into
// policies/ and change the names.
//
// `go test ./examples/` lints them and runs their fixtures, as
// `go test ./policies/` does for the deployed set.
package examples

import "embed"

// FS holds the example policy files (*.yaml at the root) and the fixtures
// under tests/. policy.Load reads the policies and skips tests/.
//
//go:embed *.yaml tests
var FS embed.FS
