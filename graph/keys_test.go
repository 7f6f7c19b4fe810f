package graph

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeysRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want ParsedKey
	}{
		{"dataset with port in namespace", DatasetKey("postgres://db.example:5432", "shop.public.orders"),
			ParsedKey{Label: LabelDataset, Namespace: "postgres://db.example:5432", Name: "shop.public.orders"}},
		{"dataset name with delimiters", DatasetKey("s3://bucket", "raw/a:b@c#d/e"),
			ParsedKey{Label: LabelDataset, Namespace: "s3://bucket", Name: "raw/a:b@c#d/e"}},
		{"dataset version", DatasetVersionKey("kafka://broker:9092", "topic:x", "2025-11-12T10:30:00Z@sha"),
			ParsedKey{Label: LabelDatasetVersion, Namespace: "kafka://broker:9092", Name: "topic:x", Version: "2025-11-12T10:30:00Z@sha"}},
		{"namespace without scheme but with colon", DatasetKey("host:1234", "t"),
			ParsedKey{Label: LabelDataset, Namespace: "host:1234", Name: "t"}},
		{"name looking like a scheme tail", DatasetKey("file", "//etc/data"),
			ParsedKey{Label: LabelDataset, Namespace: "file", Name: "//etc/data"}},
		{"percent in name", DatasetKey("ns", "100%25 sure%"),
			ParsedKey{Label: LabelDataset, Namespace: "ns", Name: "100%25 sure%"}},
		{"unicode", DatasetKey("bigquery", "projeto.análise.clientes_são_paulo_数据"),
			ParsedKey{Label: LabelDataset, Namespace: "bigquery", Name: "projeto.análise.clientes_são_paulo_数据"}},
		{"field", FieldKey("postgres://h:5432", "db.t#1", "col:a#b"),
			ParsedKey{Label: LabelField, Namespace: "postgres://h:5432", Name: "db.t#1", Field: "col:a#b"}},
		{"job", JobKey("airflow://prod:8080", "dag.task:1"),
			ParsedKey{Label: LabelJob, Namespace: "airflow://prod:8080", Name: "dag.task:1"}},
		{"feature group", FeatureGroupKey("fs_offline.risco_cliente_v1", "v1"),
			ParsedKey{Label: LabelFeatureGroup, Name: "fs_offline.risco_cliente_v1", Version: "v1"}},
		{"run", RunKey("0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c"),
			ParsedKey{Label: LabelRun, Name: "0195c4d4-7f3a-7c1e-9a64-1d2f3e4a5b6c"}},
		{"registered model", RegisteredModelKey("mlflow://127.0.0.1:5000", "risk/default"),
			ParsedKey{Label: LabelRegisteredModel, Namespace: "mlflow://127.0.0.1:5000", Name: "risk/default"}},
		{"model version", ModelVersionKey("mlflow://127.0.0.1:5000", "risk-default_v2", "3"),
			ParsedKey{Label: LabelModelVersion, Namespace: "mlflow://127.0.0.1:5000", Name: "risk-default_v2", Version: "3"}},
		{"deployment", DeploymentKey("prod/eu", "scoring", "pod-7/a"),
			ParsedKey{Label: LabelDeployment, Namespace: "prod/eu", Name: "scoring", Version: "pod-7/a"}},
		{"artifact", ArtifactKey("ABCDEF0123"),
			ParsedKey{Label: LabelArtifact, Name: "abcdef0123"}},
		{"image", ImageKey("registry.example:5000/team/train", "sha256:ABC123"),
			ParsedKey{Label: LabelImage, Namespace: "registry.example:5000/team/train", Name: "abc123"}},
		{"commit with scp-like url", CommitKey("git@github.com:org/repo.git", "a1b2c3d"),
			ParsedKey{Label: LabelCommit, Namespace: "git@github.com:org/repo.git", Name: "a1b2c3d"}},
		{"identity", IdentityKey("https://issuer.example/#x", "user#1"),
			ParsedKey{Label: LabelIdentity, Namespace: "https://issuer.example/#x", Name: "user#1"}},
		{"correlation", CorrelationKey("z1-abc:def"),
			ParsedKey{Label: LabelCorrelation, Name: "z1-abc:def"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKey(c.key)
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", c.key, err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Fatalf("ParseKey(%q) mismatch (-want +got):\n%s", c.key, d)
			}
			if back := got.String(); back != c.key {
				t.Fatalf("rebuilt key %q, want %q", back, c.key)
			}
		})
	}
}

func TestKeyReadable(t *testing.T) {
	if got, want := DatasetKey("postgres://db.example:5432", "public.orders"), "dataset:postgres://db.example%3A5432:public.orders"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	if got, want := DatasetVersionKey("s3://b", "p/q", "v1"), "dataset:s3://b:p/q@v1"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestParseKeyRejects(t *testing.T) {
	for _, k := range []string{"", "dataset", "dataset:", "dataset:ns", "dataset:ns:", "dataset:ns:n@",
		"field:ns:n", "featuregroup:x", "model:reg", "deployment:a/b", "artifact:md5:1", "image:repo",
		"git:repo", "identity:iss", "unknown:x"} {
		if _, err := ParseKey(k); ErrorCode(err) != EINVALID {
			t.Errorf("ParseKey(%q) error = %v, want EINVALID", k, err)
		}
	}
}

func TestNormalizeRunID(t *testing.T) {
	cases := map[string]string{
		"0A1B2C3D4E5F60718293A4B5C6D7E8F9":     "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
		"0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
		"not-a-uuid":                           "not-a-uuid",
		"0a1b2c3d4e5f-6071-8293-a4b5c6d7e8f9":  "0a1b2c3d4e5f-6071-8293-a4b5c6d7e8f9",
		"zz1b2c3d4e5f60718293a4b5c6d7e8f9":     "zz1b2c3d4e5f60718293a4b5c6d7e8f9",
	}
	for in, want := range cases {
		if got := NormalizeRunID(in); got != want {
			t.Errorf("NormalizeRunID(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDatasetKey(f *testing.F) {
	f.Add("postgres://h:5432", "db.t", "v1", "c")
	f.Add("file", "//x", "@", "#")
	f.Add("a%3A", "b%", "", "")
	f.Fuzz(func(t *testing.T, ns, name, version, field string) {
		if ns == "" || name == "" {
			return
		}
		check := func(key string, want ParsedKey) {
			got, err := ParseKey(key)
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", key, err)
			}
			if got != want {
				t.Fatalf("ParseKey(%q) = %+v, want %+v", key, got, want)
			}
		}
		check(DatasetKey(ns, name), ParsedKey{Label: LabelDataset, Namespace: ns, Name: name})
		if version != "" {
			check(DatasetVersionKey(ns, name, version), ParsedKey{Label: LabelDatasetVersion, Namespace: ns, Name: name, Version: version})
		}
		if field != "" {
			check(FieldKey(ns, name, field), ParsedKey{Label: LabelField, Namespace: ns, Name: name, Field: field})
		}
	})
}
