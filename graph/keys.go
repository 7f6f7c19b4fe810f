package graph

import (
	"fmt"
	"strings"
)

// Keys are deterministic strings, so upserts are idempotent and identical on
// every store. Their shapes (DESIGN.md):
//
//	correlation:<id>
//	dataset:<namespace>:<name>
//	dataset:<namespace>:<name>@<version>
//	field:<namespace>:<name>#<field>
//	featuregroup:<name>@<version>
//	job:<namespace>:<name>
//	run:<uuid>
//	model:<registry>/<name>/<version>
//	model:<registry>/<name>
//	deployment:<environment>/<service>/<id>
//	artifact:sha256:<hex>
//	image:<repository>@sha256:<hex>
//	git:<repo_url>@<sha>
//	identity:<issuer>#<subject>
//
// Components are kept readable: only '%' and the delimiter that would end a
// component early are percent-encoded. A namespace or registry that starts
// with a URI scheme keeps its "scheme://" as is, so a namespace such as
// "postgres://db.example:5432" becomes "postgres://db.example%3A5432" and
// the key stays unambiguous whatever the name holds.

// Key prefixes.
const (
	prefixCorrelation  = "correlation:"
	prefixDataset      = "dataset:"
	prefixField        = "field:"
	prefixFeatureGroup = "featuregroup:"
	prefixJob          = "job:"
	prefixRun          = "run:"
	prefixModel        = "model:"
	prefixDeployment   = "deployment:"
	prefixArtifact     = "artifact:"
	prefixImage        = "image:"
	prefixCommit       = "git:"
	prefixIdentity     = "identity:"
)

// escape percent-encodes '%' and every byte of delims in s. With keepScheme,
// a leading "scheme://" is left as is.
func escape(s, delims string, keepScheme bool) string {
	head := ""
	if keepScheme {
		if n := schemeLen(s); n > 0 {
			head, s = s[:n], s[n:]
		}
	}
	if !strings.ContainsAny(s, "%"+delims) {
		return head + s
	}
	var b strings.Builder
	b.Grow(len(head) + len(s) + 8)
	b.WriteString(head)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || strings.IndexByte(delims, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// unescape decodes the %XX sequences that escape wrote. A '%' not followed
// by two hex digits is kept literally, so hand-written keys still parse.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// schemeLen returns the length of a leading "scheme://" in s (RFC 3986
// scheme syntax), or 0.
func schemeLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0 && strings.HasPrefix(s[i:], "://"):
			return i + 3
		default:
			return 0
		}
	}
	return 0
}

// cut splits s at the first delim byte that is outside a leading
// "scheme://" (when keepScheme).
func cut(s string, delim byte, keepScheme bool) (before, after string, ok bool) {
	start := 0
	if keepScheme {
		start = schemeLen(s)
	}
	i := strings.IndexByte(s[start:], delim)
	if i < 0 {
		return s, "", false
	}
	i += start
	return s[:i], s[i+1:], true
}

// escapeName escapes a dataset or job name: '@' and '#' end it in version
// and field keys, and a leading "//" would read as part of a scheme.
func escapeName(name string) string {
	e := escape(name, "@#", false)
	if strings.HasPrefix(e, "//") {
		e = "%2F" + e[1:]
	}
	return e
}

// CorrelationKey is the key of a Z1 correlation id.
func CorrelationKey(id string) string { return prefixCorrelation + id }

// DatasetKey is the key of a dataset named by OpenLineage naming.
func DatasetKey(namespace, name string) string {
	return prefixDataset + escape(namespace, ":", true) + ":" + escapeName(name)
}

// DatasetVersionKey is the key of one version (snapshot) of a dataset.
func DatasetVersionKey(namespace, name, version string) string {
	return DatasetKey(namespace, name) + "@" + version
}

// FieldKey is the key of a column of a dataset.
func FieldKey(namespace, name, field string) string {
	return prefixField + escape(namespace, ":", true) + ":" + escapeName(name) + "#" + field
}

// FeatureGroupKey is the key of a feature group version, as in
// "fs_offline.risco_cliente_v1@v1".
func FeatureGroupKey(name, version string) string {
	return prefixFeatureGroup + escape(name, "@", false) + "@" + version
}

// JobKey is the key of a job (an OpenLineage job or an MLflow experiment).
func JobKey(namespace, name string) string {
	return prefixJob + escape(namespace, ":", true) + ":" + escapeName(name)
}

// RunKey is the key of a run; the id is normalised with NormalizeRunID so
// that an MLflow run id and an OpenLineage runId for the same execution meet.
func RunKey(id string) string { return prefixRun + NormalizeRunID(id) }

// RegisteredModelKey is the key of a registered model.
func RegisteredModelKey(registry, name string) string {
	return prefixModel + escape(registry, "/", true) + "/" + escape(name, "/", false)
}

// ModelVersionKey is the key of a version of a registered model.
func ModelVersionKey(registry, name, version string) string {
	return RegisteredModelKey(registry, name) + "/" + escape(version, "/", false)
}

// DeploymentKey is the key of a Z6 deployment.
func DeploymentKey(environment, service, id string) string {
	return prefixDeployment + escape(environment, "/", false) + "/" + escape(service, "/", false) + "/" + id
}

// ArtifactKey is the key of a file identified by its sha256 (hex).
func ArtifactKey(sha256Hex string) string {
	return prefixArtifact + "sha256:" + strings.ToLower(sha256Hex)
}

// ImageKey is the key of a container image by digest. The digest may be
// given with or without its "sha256:" prefix.
func ImageKey(repository, digest string) string {
	digest = strings.ToLower(strings.TrimPrefix(digest, "sha256:"))
	return prefixImage + repository + "@sha256:" + escape(digest, "@", false)
}

// CommitKey is the key of a source commit.
func CommitKey(repoURL, sha string) string {
	return prefixCommit + repoURL + "@" + escape(sha, "@", false)
}

// IdentityKey is the key of an OIDC identity (issuer and subject).
func IdentityKey(issuer, subject string) string {
	return prefixIdentity + escape(issuer, "#", false) + "#" + subject
}

// NormalizeRunID returns a run id in lowercase dashed UUID form when it is
// a UUID written with or without dashes (MLflow writes 32 hex digits);
// anything else is returned unchanged.
func NormalizeRunID(id string) string {
	hexOnly := strings.ReplaceAll(id, "-", "")
	if len(hexOnly) != 32 {
		return id
	}
	if strings.Contains(id, "-") && (len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') {
		return id
	}
	for i := 0; i < len(hexOnly); i++ {
		if !isHex(hexOnly[i]) {
			return id
		}
	}
	h := strings.ToLower(hexOnly)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ParsedKey is a key taken apart. Which fields are set depends on Label:
//
//	Correlation      Name=id
//	Dataset, Job     Namespace, Name
//	DatasetVersion   Namespace, Name, Version
//	Field            Namespace, Name, Field
//	FeatureGroup     Name, Version
//	Run              Name=run id
//	RegisteredModel  Namespace=registry, Name
//	ModelVersion     Namespace=registry, Name, Version
//	Deployment       Namespace=environment, Name=service, Version=id
//	Artifact         Name=sha256 hex
//	Image            Namespace=repository, Name=digest hex
//	Commit           Namespace=repo url, Name=sha
//	Identity         Namespace=issuer, Name=subject
type ParsedKey struct {
	Label     Label
	Namespace string
	Name      string
	Version   string
	Field     string
}

// String rebuilds the key.
func (p ParsedKey) String() string {
	switch p.Label {
	case LabelCorrelation:
		return CorrelationKey(p.Name)
	case LabelDataset:
		return DatasetKey(p.Namespace, p.Name)
	case LabelDatasetVersion:
		return DatasetVersionKey(p.Namespace, p.Name, p.Version)
	case LabelField:
		return FieldKey(p.Namespace, p.Name, p.Field)
	case LabelFeatureGroup:
		return FeatureGroupKey(p.Name, p.Version)
	case LabelJob:
		return JobKey(p.Namespace, p.Name)
	case LabelRun:
		return RunKey(p.Name)
	case LabelRegisteredModel:
		return RegisteredModelKey(p.Namespace, p.Name)
	case LabelModelVersion:
		return ModelVersionKey(p.Namespace, p.Name, p.Version)
	case LabelDeployment:
		return DeploymentKey(p.Namespace, p.Name, p.Version)
	case LabelArtifact:
		return ArtifactKey(p.Name)
	case LabelImage:
		return ImageKey(p.Namespace, p.Name)
	case LabelCommit:
		return CommitKey(p.Namespace, p.Name)
	case LabelIdentity:
		return IdentityKey(p.Namespace, p.Name)
	}
	return ""
}

// ParseKey takes a key apart. A key that is not of one of the documented
// shapes is an EINVALID error.
func ParseKey(key string) (ParsedKey, error) {
	bad := func(why string) (ParsedKey, error) {
		return ParsedKey{}, Errorf(EINVALID, "malformed key %q: %s", key, why)
	}
	prefix, rest, ok := strings.Cut(key, ":")
	if !ok || rest == "" {
		return bad("expected <kind>:<id>")
	}
	prefix += ":"
	switch prefix {
	case prefixCorrelation:
		return ParsedKey{Label: LabelCorrelation, Name: rest}, nil
	case prefixRun:
		return ParsedKey{Label: LabelRun, Name: rest}, nil
	case prefixDataset, prefixJob, prefixField:
		ns, tail, ok := cut(rest, ':', true)
		if !ok || ns == "" || tail == "" {
			return bad("expected <namespace>:<name>")
		}
		p := ParsedKey{Namespace: unescape(ns)}
		switch prefix {
		case prefixJob:
			p.Label, p.Name = LabelJob, unescape(tail)
		case prefixField:
			name, field, ok := strings.Cut(tail, "#")
			if !ok || name == "" || field == "" {
				return bad("expected <namespace>:<name>#<field>")
			}
			p.Label, p.Name, p.Field = LabelField, unescape(name), field
		default:
			name, version, ok := strings.Cut(tail, "@")
			p.Name = unescape(name)
			if name == "" {
				return bad("empty dataset name")
			}
			if ok {
				if version == "" {
					return bad("empty version after '@'")
				}
				p.Label, p.Version = LabelDatasetVersion, version
			} else {
				p.Label = LabelDataset
			}
		}
		return p, nil
	case prefixFeatureGroup:
		name, version, ok := strings.Cut(rest, "@")
		if !ok || name == "" || version == "" {
			return bad("expected <name>@<version>")
		}
		return ParsedKey{Label: LabelFeatureGroup, Name: unescape(name), Version: version}, nil
	case prefixModel:
		reg, tail, ok := cut(rest, '/', true)
		if !ok || reg == "" || tail == "" {
			return bad("expected <registry>/<name>[/<version>]")
		}
		p := ParsedKey{Label: LabelRegisteredModel, Namespace: unescape(reg)}
		name, version, ok := strings.Cut(tail, "/")
		p.Name = unescape(name)
		if p.Name == "" {
			return bad("empty model name")
		}
		if ok {
			if version == "" {
				return bad("empty model version")
			}
			p.Label, p.Version = LabelModelVersion, unescape(version)
		}
		return p, nil
	case prefixDeployment:
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return bad("expected <environment>/<service>/<id>")
		}
		return ParsedKey{Label: LabelDeployment, Namespace: unescape(parts[0]), Name: unescape(parts[1]), Version: parts[2]}, nil
	case prefixArtifact:
		hex, ok := strings.CutPrefix(rest, "sha256:")
		if !ok || hex == "" {
			return bad("expected artifact:sha256:<hex>")
		}
		return ParsedKey{Label: LabelArtifact, Name: hex}, nil
	case prefixImage:
		i := strings.LastIndex(rest, "@sha256:")
		if i <= 0 || i+len("@sha256:") == len(rest) {
			return bad("expected <repository>@sha256:<hex>")
		}
		return ParsedKey{Label: LabelImage, Namespace: rest[:i], Name: unescape(rest[i+len("@sha256:"):])}, nil
	case prefixCommit:
		i := strings.LastIndexByte(rest, '@')
		if i <= 0 || i == len(rest)-1 {
			return bad("expected <repo_url>@<sha>")
		}
		return ParsedKey{Label: LabelCommit, Namespace: rest[:i], Name: unescape(rest[i+1:])}, nil
	case prefixIdentity:
		issuer, subject, ok := strings.Cut(rest, "#")
		if !ok || issuer == "" || subject == "" {
			return bad("expected <issuer>#<subject>")
		}
		return ParsedKey{Label: LabelIdentity, Namespace: unescape(issuer), Name: subject}, nil
	}
	return bad("unknown kind " + strings.TrimSuffix(prefix, ":"))
}

// LabelOf returns the label a key belongs to.
func LabelOf(key string) (Label, error) {
	p, err := ParseKey(key)
	if err != nil {
		return "", err
	}
	return p.Label, nil
}
