// Package deploycheck holds the tests that keep the deployable pieces in step:
// template.yaml lints clean with cfn-lint, every function the template
// declares has a main package under functions/ and a Makefile build target.
package deploycheck
