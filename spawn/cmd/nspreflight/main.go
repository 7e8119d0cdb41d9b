package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/nsverify/nsverify/spawn"
)

func main() {
	// A throwaway child of Detect: it only had to be cloned and exec'd.
	if os.Getenv(spawn.DetectChildEnv) == "1" {
		os.Exit(0)
	}
	asJSON := flag.Bool("json", false, "print the report as JSON")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: nspreflight [-json]\n\nReports which namespace kinds this machine can create, and the remedy for those it cannot.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nspreflight: find own executable:", err)
		os.Exit(1)
	}
	features := spawn.Detect(exe)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(features)
	} else {
		err = features.WriteTable(os.Stdout, spawn.ColorWanted(os.Stdout))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nspreflight:", err)
		os.Exit(1)
	}
}
