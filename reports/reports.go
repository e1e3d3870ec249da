// Package reports writes findings as gcc-style text, SARIF 2.1.0 or
// lockorder's own JSON.
package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lockorder/lockorder/rules"
)

// Version is the tool version written into reports.
const Version = "0.1.0"

// InformationURI is the project's home.
const InformationURI = "https://github.com/lockorder/lockorder"

// Text writes `file:line:col: severity: message [rule]` then indented
// note lines for each path, one block per CPU.
func Text(w io.Writer, fs []rules.Finding) error {
	var b strings.Builder
	for _, f := range fs {
		if f.Suppressed != nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %s: %s [%s]\n", f.Loc, f.Severity, f.Message, f.Rule)
		for _, tf := range f.Flows {
			fmt.Fprintf(&b, "  note: %s:\n", tf.Name)
			for _, s := range tf.Steps {
				fmt.Fprintf(&b, "    %s: note: %s\n", s.Loc, s.Message)
			}
		}
		if f.Fix != "" {
			fmt.Fprintf(&b, "  note: fix: %s\n", f.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSONReport is lockorder's own stable JSON schema (version 1).
type JSONReport struct {
	Version  int           `json:"version"`
	Tool     string        `json:"tool"`
	Findings []JSONFinding `json:"findings"`
}

// JSONFinding is one finding.
type JSONFinding struct {
	Rule        string     `json:"rule"`
	Severity    string     `json:"severity"`
	Message     string     `json:"message"`
	Location    JSONLoc    `json:"location"`
	Fingerprint string     `json:"fingerprint"`
	Fix         string     `json:"fix,omitempty"`
	Flows       []JSONFlow `json:"flows"`
}

// JSONLoc is a source location.
type JSONLoc struct {
	Path     string `json:"path"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Function string `json:"function,omitempty"`
}

// JSONFlow is one path.
type JSONFlow struct {
	Name  string     `json:"name"`
	Steps []JSONStep `json:"steps"`
}

// JSONStep is one step of a path.
type JSONStep struct {
	Location JSONLoc `json:"location"`
	Message  string  `json:"message"`
}

func jloc(l rules.Location) JSONLoc {
	return JSONLoc{Path: l.Path, Line: l.Line, Column: l.Col, Function: l.Func}
}

// JSON writes the findings in lockorder's JSON schema.
func JSON(w io.Writer, fs []rules.Finding) error {
	r := JSONReport{Version: 1, Tool: "lockorder " + Version, Findings: []JSONFinding{}}
	for _, f := range fs {
		if f.Suppressed != nil {
			continue
		}
		jf := JSONFinding{Rule: f.Rule, Severity: f.Severity.String(), Message: f.Message, Location: jloc(f.Loc),
			Fingerprint: f.Fingerprint, Fix: f.Fix, Flows: []JSONFlow{}}
		for _, tf := range f.Flows {
			fl := JSONFlow{Name: tf.Name, Steps: []JSONStep{}}
			for _, s := range tf.Steps {
				fl.Steps = append(fl.Steps, JSONStep{Location: jloc(s.Loc), Message: s.Message})
			}
			jf.Flows = append(jf.Flows, fl)
		}
		r.Findings = append(r.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
