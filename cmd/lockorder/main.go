// Command lockorder is a static lock-order linter for Linux kernel C.
//
//	lockorder scan [flags] PATH...    report findings
//	lockorder rules                   list the rules
//	lockorder facts FILE...           what the engine understood of each function
//	lockorder why FUNC PATH...        a function's summary with its witnesses
//	lockorder graph [--lock CLASS] PATH...   lock-order graph as DOT
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

const usage = `usage: lockorder <command> [flags] [PATH...]

commands:
  scan PATH...    scan .c/.h files (directories recursively) and report findings
  check [PATH...] in a git work tree, report only the findings a change introduces:
                  --base REV [PATH...] (HEAD against REV) or --series PATCH... (patches on HEAD)
  rules           list the rules with their documentation
  facts FILE...   show what the engine understood of each function
  why FUNC PATH...  why a function may sleep, wake or IPI, and which locks it takes
  graph PATH...   write the lock-order graph as Graphviz DOT

run 'lockorder <command> --help' for the flags of a command
`

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lockorder: %v\n", err)
	}
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2, nil
	}
	var err error
	code := 0
	switch args[0] {
	case "scan":
		code, err = cmdScan(args[1:], stdout, stderr)
	case "check":
		code, err = cmdCheck(args[1:], stdout, stderr)
	case "rules":
		err = cmdRules(args[1:], stdout)
	case "facts":
		err = cmdFacts(args[1:], stdout, stderr)
	case "why":
		code, err = cmdWhy(args[1:], stdout, stderr)
	case "graph":
		err = cmdGraph(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, nil
	default:
		return 2, fmt.Errorf("unknown command %q (want scan, check, rules, facts or graph)", args[0])
	}
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0, nil
		}
		return 2, err
	}
	return code, nil
}
