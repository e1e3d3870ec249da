module github.com/lockorder/lockorder

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/dominikbraun/graph v0.23.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/smacker/go-tree-sitter v0.0.0-20240827094217-dd81d9e9be82
	github.com/sourcegraph/conc v0.3.0
	github.com/spf13/pflag v1.0.10
)

require (
	github.com/ulikunitz/xz v0.5.17 // indirect
	go.uber.org/atomic v1.7.0 // indirect
	go.uber.org/multierr v1.9.0 // indirect
	golang.org/x/text v0.14.0 // indirect
)
