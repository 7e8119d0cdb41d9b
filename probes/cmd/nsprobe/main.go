//go:build linux

package main

import (
	"os"

	"github.com/nsverify/nsverify/probes/nsprobe"
)

func main() {
	os.Exit(nsprobe.Main(os.Args[1:], os.Stdout, os.Stderr))
}
