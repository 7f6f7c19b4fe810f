package openlineage

// Fast-path readers (see scan.go) for the wire event and the facets the
// mapping reads. Each mirrors its struct's json tags: the names lists are
// the JSON field names, embedded BaseFacet's first. A facet type without a
// reader here (dataQualityMetrics) always takes the encoding/json path.

var (
	wireEventNames   = []string{"eventTime", "producer", "schemaURL", "eventType", "run", "job", "dataset", "inputs", "outputs"}
	wireRunNames     = []string{"runId", "facets"}
	wireJobNames     = []string{"namespace", "name", "facets"}
	wireDatasetNames = []string{"namespace", "name", "facets", "inputFacets", "outputFacets"}
)

// scanWire reads an event body into w, which must be zero.
func scanWire(body []byte, w *wireEvent) error {
	s := &scanner{data: body}
	err := s.fields(wireEventNames, func(i int) error {
		switch i {
		case 0:
			return s.stringInto(&w.EventTime)
		case 1:
			return s.stringInto(&w.Producer)
		case 2:
			return s.stringInto(&w.SchemaURL)
		case 3:
			return s.stringInto(&w.EventType)
		case 4:
			if null, err := s.null(); null || err != nil {
				return err
			}
			w.Run = new(wireRun)
			return s.fields(wireRunNames, func(i int) error {
				if i == 0 {
					return s.stringInto(&w.Run.RunID)
				}
				return s.facetsInto(&w.Run.Facets)
			})
		case 5:
			if null, err := s.null(); null || err != nil {
				return err
			}
			w.Job = new(wireJob)
			return s.fields(wireJobNames, func(i int) error {
				switch i {
				case 0:
					return s.stringInto(&w.Job.Namespace)
				case 1:
					return s.stringInto(&w.Job.Name)
				}
				return s.facetsInto(&w.Job.Facets)
			})
		case 6:
			if null, err := s.null(); null || err != nil {
				return err
			}
			w.Dataset = new(wireDataset)
			return s.wireDataset(w.Dataset)
		case 7:
			return s.wireDatasets(&w.Inputs)
		}
		return s.wireDatasets(&w.Outputs)
	})
	if err == nil && !s.end() {
		err = errSlow
	}
	return err
}

func (s *scanner) wireDatasets(p *[]wireDataset) error {
	if null, err := s.null(); null || err != nil {
		return err
	}
	list := make([]wireDataset, 0, 4)
	_, err := s.array(func() error {
		list = append(list, wireDataset{})
		if null, err := s.null(); null || err != nil {
			return err
		}
		return s.wireDataset(&list[len(list)-1])
	})
	*p = list
	return err
}

func (s *scanner) wireDataset(d *wireDataset) error {
	return s.fields(wireDatasetNames, func(i int) error {
		switch i {
		case 0:
			return s.stringInto(&d.Namespace)
		case 1:
			return s.stringInto(&d.Name)
		case 2:
			return s.facetsInto(&d.Facets)
		case 3:
			return s.facetsInto(&d.InputFacets)
		}
		return s.facetsInto(&d.OutputFacets)
	})
}

// scanFacet decodes a facet into v, a pointer to a zero facet struct, or
// returns errSlow (also for a type it has no reader for).
func scanFacet(b []byte, v any) error {
	s := &scanner{data: b}
	var err error
	switch f := v.(type) {
	case *ParentRunFacet:
		err = s.parent(f)
	case *NominalTimeRunFacet:
		err = s.base(&f.BaseFacet, []string{"nominalStartTime", "nominalEndTime"}, &f.NominalStartTime, &f.NominalEndTime)
	case *ErrorMessageRunFacet:
		err = s.base(&f.BaseFacet, []string{"message", "programmingLanguage", "stackTrace"}, &f.Message, &f.ProgrammingLanguage, &f.StackTrace)
	case *TagsFacet:
		err = s.tags(f)
	case *JobTypeJobFacet:
		err = s.base(&f.BaseFacet, []string{"processingType", "integration", "jobType"}, &f.ProcessingType, &f.Integration, &f.JobType)
	case *SourceCodeLocationJobFacet:
		err = s.base(&f.BaseFacet, []string{"type", "url", "repoUrl", "path", "version", "tag", "branch", "pullRequestNumber"},
			&f.Type, &f.URL, &f.RepoURL, &f.Path, &f.Version, &f.Tag, &f.Branch, &f.PullRequestNumber)
	case *SQLJobFacet:
		err = s.base(&f.BaseFacet, []string{"query", "dialect"}, &f.Query, &f.Dialect)
	case *OwnershipFacet:
		err = s.ownership(f)
	case *DocumentationFacet:
		err = s.base(&f.BaseFacet, []string{"description", "contentType"}, &f.Description, &f.ContentType)
	case *SchemaDatasetFacet:
		err = s.schema(f)
	case *DatasourceDatasetFacet:
		err = s.base(&f.BaseFacet, []string{"name", "uri"}, &f.Name, &f.URI)
	case *ColumnLineageDatasetFacet:
		err = s.columnLineage(f)
	case *DatasetVersionDatasetFacet:
		err = s.base(&f.BaseFacet, []string{"datasetVersion"}, &f.DatasetVersion)
	case *SymlinksDatasetFacet:
		err = s.symlinks(f)
	case *LifecycleStateChangeDatasetFacet:
		err = s.lifecycle(f)
	case *DatasetTypeDatasetFacet:
		err = s.base(&f.BaseFacet, []string{"datasetType", "subType"}, &f.DatasetType, &f.SubType)
	case *StorageDatasetFacet:
		err = s.base(&f.BaseFacet, []string{"storageLayer", "fileFormat"}, &f.StorageLayer, &f.FileFormat)
	case *StatisticsFacet:
		err = s.statistics(f)
	default:
		return errSlow
	}
	if err == nil && !s.end() {
		err = errSlow
	}
	return err
}

// baseNames are BaseFacet's JSON fields; facet readers put them first.
var baseNames = []string{"_producer", "_schemaURL", "_deleted"}

// baseField decodes BaseFacet field i (of baseNames).
func (s *scanner) baseField(b *BaseFacet, i int) error {
	switch i {
	case 0:
		return s.stringInto(&b.Producer)
	case 1:
		return s.stringInto(&b.SchemaURL)
	}
	return s.boolInto(&b.Deleted)
}

// facetFields scans a facet object whose fields are BaseFacet's and then
// names; field(i) decodes names[i].
func (s *scanner) facetFields(b *BaseFacet, names []string, field func(i int) error) error {
	all := make([]string, 0, len(baseNames)+len(names))
	all = append(append(all, baseNames...), names...)
	return s.fields(all, func(i int) error {
		if i < len(baseNames) {
			return s.baseField(b, i)
		}
		return field(i - len(baseNames))
	})
}

// base scans a facet of BaseFacet and string fields only.
func (s *scanner) base(b *BaseFacet, names []string, strs ...*string) error {
	return s.facetFields(b, names, func(i int) error { return s.stringInto(strs[i]) })
}

// object reads a struct field's object value: null leaves it as it is.
func (s *scanner) objectInto(names []string, field func(i int) error) error {
	if null, err := s.null(); null || err != nil {
		return err
	}
	return s.fields(names, field)
}

var (
	parentNames     = []string{"run", "job", "root"}
	parentRootNames = []string{"run", "job"}
	runIDNames      = []string{"runId"}
	nsNameNames     = []string{"namespace", "name"}
)

func (s *scanner) parentRun(r *ParentRun) error {
	return s.objectInto(runIDNames, func(int) error { return s.stringInto(&r.RunID) })
}

func (s *scanner) parentJob(j *ParentJob) error {
	return s.objectInto(nsNameNames, func(i int) error {
		if i == 0 {
			return s.stringInto(&j.Namespace)
		}
		return s.stringInto(&j.Name)
	})
}

func (s *scanner) parent(f *ParentRunFacet) error {
	return s.facetFields(&f.BaseFacet, parentNames, func(i int) error {
		switch i {
		case 0:
			return s.parentRun(&f.Run)
		case 1:
			return s.parentJob(&f.Job)
		}
		if null, err := s.null(); null || err != nil {
			f.Root = nil
			return err
		}
		f.Root = new(ParentRoot)
		return s.fields(parentRootNames, func(i int) error {
			if i == 0 {
				return s.parentRun(&f.Root.Run)
			}
			return s.parentJob(&f.Root.Job)
		})
	})
}

var tagNames = []string{"key", "value", "source", "field"}

func (s *scanner) tags(f *TagsFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"tags"}, func(int) error {
		return sliceInto(s, &f.Tags, func(t *Tag) error {
			return s.fields(tagNames, func(i int) error {
				return s.stringInto([]*string{&t.Key, &t.Value, &t.Source, &t.Field}[i])
			})
		})
	})
}

var ownerNames2 = []string{"name", "type"}

func (s *scanner) ownership(f *OwnershipFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"owners"}, func(int) error {
		return sliceInto(s, &f.Owners, func(o *Owner) error {
			return s.fields(ownerNames2, func(i int) error {
				if i == 0 {
					return s.stringInto(&o.Name)
				}
				return s.stringInto(&o.Type)
			})
		})
	})
}

// sliceInto decodes an array into *p as encoding/json does into a nil
// slice: null leaves nil, [] gives an empty non-nil slice, a null element
// a zero one. elem decodes one object element.
func sliceInto[T any](s *scanner, p *[]T, elem func(*T) error) error {
	if null, err := s.null(); null || err != nil {
		*p = nil
		return err
	}
	var list []T
	n, err := s.array(func() error {
		list = append(list, *new(T))
		if null, err := s.null(); null || err != nil {
			return err
		}
		return elem(&list[len(list)-1])
	})
	if n == 0 && err == nil {
		list = []T{}
	}
	*p = list
	return err
}

var schemaFieldNames = []string{"name", "type", "description", "ordinal_position", "fields"}

func (s *scanner) schema(f *SchemaDatasetFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"fields"}, func(int) error {
		return s.schemaFields(&f.Fields)
	})
}

func (s *scanner) schemaFields(p *[]SchemaField) error {
	return sliceInto(s, p, func(f *SchemaField) error {
		return s.fields(schemaFieldNames, func(i int) error {
			switch i {
			case 0:
				return s.stringInto(&f.Name)
			case 1:
				return s.stringInto(&f.Type)
			case 2:
				return s.stringInto(&f.Description)
			case 3:
				return s.int64Into(&f.OrdinalPosition)
			}
			return s.schemaFields(&f.Fields)
		})
	})
}

var (
	columnLineageNames      = []string{"fields", "dataset"}
	columnLineageFieldNames = []string{"inputFields", "transformationDescription", "transformationType"}
	inputFieldNames         = []string{"namespace", "name", "field", "transformations"}
	transformationNames     = []string{"type", "subtype", "description", "masking"}
)

func (s *scanner) columnLineage(f *ColumnLineageDatasetFacet) error {
	return s.facetFields(&f.BaseFacet, columnLineageNames, func(i int) error {
		if i == 1 {
			return s.inputFields(&f.Dataset)
		}
		if null, err := s.null(); null || err != nil {
			f.Fields = nil
			return err
		}
		f.Fields = make(map[string]ColumnLineageField)
		return s.object(func(key []byte, esc, high bool) error {
			name, err := text(key, esc, high)
			if err != nil {
				return err
			}
			var c ColumnLineageField
			if null, err := s.null(); null || err != nil {
				f.Fields[name] = c
				return err
			}
			err = s.fields(columnLineageFieldNames, func(i int) error {
				switch i {
				case 0:
					return s.inputFields(&c.InputFields)
				case 1:
					return s.stringInto(&c.TransformationDescription)
				}
				return s.stringInto(&c.TransformationType)
			})
			f.Fields[name] = c
			return err
		})
	})
}

func (s *scanner) inputFields(p *[]InputField) error {
	return sliceInto(s, p, func(in *InputField) error {
		return s.fields(inputFieldNames, func(i int) error {
			switch i {
			case 0:
				return s.stringInto(&in.Namespace)
			case 1:
				return s.stringInto(&in.Name)
			case 2:
				return s.stringInto(&in.Field)
			}
			return sliceInto(s, &in.Transformations, func(t *Transformation) error {
				return s.fields(transformationNames, func(i int) error {
					switch i {
					case 0:
						return s.stringInto(&t.Type)
					case 1:
						return s.stringInto(&t.Subtype)
					case 2:
						return s.stringInto(&t.Description)
					}
					return s.boolInto(&t.Masking)
				})
			})
		})
	})
}

var symlinkNames = []string{"namespace", "name", "type"}

func (s *scanner) symlinks(f *SymlinksDatasetFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"identifiers"}, func(int) error {
		return sliceInto(s, &f.Identifiers, func(id *SymlinkIdentifier) error {
			return s.fields(symlinkNames, func(i int) error {
				return s.stringInto([]*string{&id.Namespace, &id.Name, &id.Type}[i])
			})
		})
	})
}

func (s *scanner) lifecycle(f *LifecycleStateChangeDatasetFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"lifecycleStateChange", "previousIdentifier"}, func(i int) error {
		if i == 0 {
			return s.stringInto(&f.LifecycleStateChange)
		}
		if null, err := s.null(); null || err != nil {
			f.PreviousIdentifier = nil
			return err
		}
		f.PreviousIdentifier = new(PreviousIdentifier)
		return s.fields(nsNameNames, func(i int) error {
			if i == 0 {
				return s.stringInto(&f.PreviousIdentifier.Namespace)
			}
			return s.stringInto(&f.PreviousIdentifier.Name)
		})
	})
}

func (s *scanner) statistics(f *StatisticsFacet) error {
	return s.facetFields(&f.BaseFacet, []string{"rowCount", "size", "fileCount"}, func(i int) error {
		return s.int64Into([]**int64{&f.RowCount, &f.Size, &f.FileCount}[i])
	})
}
