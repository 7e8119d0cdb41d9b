// actionlint, in a module of its own: it builds only with the
// go.yaml.in/yaml/v4 it asks for, older than the one golangci-lint's
// dependencies raise it to, and none of its dependencies belong in the
// go.mod that programs importing nsverify read. Run it at the repository's
// root (it finds .github/workflows there, and runs shellcheck on every
// run: block when shellcheck is on PATH):
//
//	go tool -modfile=tools/actionlint/go.mod actionlint
//
// and update it with
//
//	go -C tools/actionlint get -tool github.com/rhysd/actionlint/cmd/actionlint@VERSION
//	go -C tools/actionlint mod tidy
module github.com/nsverify/nsverify/tools/actionlint

go 1.26.8

tool github.com/rhysd/actionlint/cmd/actionlint

require (
	github.com/bmatcuk/doublestar/v4 v4.10.0 // indirect
	github.com/clipperhouse/uax29/v2 v2.7.0 // indirect
	github.com/fatih/color v1.19.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/mattn/go-runewidth v0.0.21 // indirect
	github.com/mattn/go-shellwords v1.0.12 // indirect
	github.com/rhysd/actionlint v1.7.12 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	go.yaml.in/yaml/v4 v4.0.0-rc.3 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.42.0 // indirect
)
