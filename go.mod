module github.com/lockorder/lockorder

go 1.26.8

require github.com/smacker/go-tree-sitter v0.0.0-20240827094217-dd81d9e9be82

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/dominikbraun/graph v0.23.0 // indirect
	github.com/sourcegraph/conc v0.3.0 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
)
