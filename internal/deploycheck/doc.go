// Package deploycheck holds the tests that keep the deployable pieces in step:
// template.yaml lints clean with cfn-lint, every function the template
// declares has a main package under functions/ and a Makefile build target,
// and the Lambda binaries stay small and quick to start (no reachable
// method lookup by name, under 20 MB, no SDK ssm client).
package deploycheck
