package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"

	"github.com/lockorder/lockorder/rules"
)

// GitHub code scanning limits.
const (
	maxResults         = 25000
	maxLocationsPerRes = 1000
	maxThreadFlowLocs  = 10000
	sarifSchemaURI     = "https://json.schemastore.org/sarif-2.1.0.json"
	srcRoot            = "%SRCROOT%"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           sarifRegion      `json:"region"`
}

type sarifLogical struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type sarifLocation struct {
	ID               *int           `json:"id,omitempty"`
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifTFLoc struct {
	Location sarifLocation `json:"location"`
}

type sarifThreadFlow struct {
	ID        string       `json:"id,omitempty"`
	Message   *sarifText   `json:"message,omitempty"`
	Locations []sarifTFLoc `json:"locations"`
}

type sarifCodeFlow struct {
	Message     *sarifText        `json:"message,omitempty"`
	ThreadFlows []sarifThreadFlow `json:"threadFlows"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	RelatedLocations    []sarifLocation    `json:"relatedLocations,omitempty"`
	CodeFlows           []sarifCodeFlow    `json:"codeFlows,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
}

// LineHasher returns the text of a source line, for SARIF's
// primaryLocationLineHash (may be nil).
type LineHasher func(path string, line int) string

func sarifLevel(s rules.Severity) string {
	switch s {
	case rules.Error:
		return "error"
	case rules.Warning:
		return "warning"
	}
	return "note"
}

func loc(l rules.Location, msg string) sarifLocation {
	sl := sarifLocation{PhysicalLocation: sarifPhysical{
		ArtifactLocation: sarifArtifactLoc{URI: filepath.ToSlash(l.Path), URIBaseID: srcRoot},
		Region:           sarifRegion{StartLine: max(l.Line, 1), StartColumn: max(l.Col, 1)},
	}}
	if l.Func != "" {
		sl.LogicalLocations = []sarifLogical{{Name: l.Func, Kind: "function"}}
	}
	if msg != "" {
		sl.Message = &sarifText{Text: msg}
	}
	return sl
}

// SARIF writes one SARIF 2.1.0 run. root is the directory paths are
// relative to (recorded as %SRCROOT%); line gives source lines for the
// line hash.
func SARIF(w io.Writer, fs []rules.Finding, rs []*rules.Rule, root string, line LineHasher) error {
	drv := sarifDriver{Name: "lockorder", Version: Version, InformationURI: InformationURI}
	index := map[string]int{}
	for i, r := range rs {
		index[r.ID] = i
		drv.Rules = append(drv.Rules, sarifRule{
			ID: r.ID, Name: r.Name,
			ShortDescription:     sarifText{Text: r.Short},
			FullDescription:      sarifText{Text: r.Full},
			Help:                 sarifText{Text: r.Short + "\n\n" + stripMD(r.Help), Markdown: r.Help},
			DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
			Properties:           map[string]any{"tags": r.Tags, "precision": "high"},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}}
	if root != "" {
		uri := "file://" + filepath.ToSlash(root)
		if !strings.HasSuffix(uri, "/") {
			uri += "/"
		}
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{srcRoot: {URI: uri}}
	}
	for i, f := range fs {
		if i >= maxResults {
			break
		}
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message:             sarifText{Text: f.Message},
			Locations:           []sarifLocation{loc(f.Loc, "")},
			PartialFingerprints: map[string]string{"lockorder/v1": f.Fingerprint},
		}
		if f.Suppressed != nil {
			res.Suppressions = []sarifSuppression{{Kind: f.Suppressed.Kind, Justification: f.Suppressed.Justification}}
		}
		if line != nil {
			h := sha256.Sum256([]byte(strings.TrimSpace(line(f.Loc.Path, f.Loc.Line))))
			res.PartialFingerprints["primaryLocationLineHash"] = hex.EncodeToString(h[:8]) + ":1"
		}
		for k, r := range f.Related {
			if k >= maxLocationsPerRes {
				break
			}
			sl := loc(r.Loc, r.Message)
			id := k + 1
			sl.ID = &id
			res.RelatedLocations = append(res.RelatedLocations, sl)
		}
		if len(f.Flows) > 0 {
			cf := sarifCodeFlow{}
			budget := maxThreadFlowLocs
			for _, tf := range f.Flows {
				stf := sarifThreadFlow{ID: tf.Name, Message: &sarifText{Text: tf.Name}}
				for _, s := range tf.Steps {
					if budget == 0 {
						break
					}
					budget--
					stf.Locations = append(stf.Locations, sarifTFLoc{Location: loc(s.Loc, s.Message)})
				}
				if len(stf.Locations) > 0 {
					cf.ThreadFlows = append(cf.ThreadFlows, stf)
				}
			}
			if len(cf.ThreadFlows) > 0 {
				res.CodeFlows = []sarifCodeFlow{cf}
			}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}})
}

func stripMD(s string) string {
	return strings.NewReplacer("**", "", "`", "").Replace(s)
}
